import { spawnBehaviour, send, type Behaviour, type Ref } from './actor.ts';
import { TERMINAL_JOB_STATES, type ExecutionProvider, type JobStatus } from '../providers/provider.ts';
import { shellQuote } from '../common/shell-quote.ts';
import type { StatusPoller } from './htex/status-poller.ts';

/** Messages a block actor handles. */
export type ToBlockActor =
  | { type: 'submitted'; jobId: string }
  | { type: 'submit-failed'; error: unknown }
  | { type: 'registered'; workers: number }
  | { type: 'refused'; reason: string }
  | { type: 'heartbeat' }
  | { type: 'check' }
  | { type: 'job-state'; status: JobStatus; stderrTail?: string | undefined }
  | { type: 'cancel'; done: () => void };

/** What a block actor tells its executor manager. */
export type FromBlockActor =
  | { type: 'block-lost'; blockId: string; reason: string; graceful?: boolean }
  | { type: 'block-registered'; blockId: string; workers: number };

/** Where a block is in its life. */
export type BlockPhase =
  /** The provider is being asked for a job. */
  | 'submitting'
  /** The job exists; its manager has not registered yet. */
  | 'pending'
  /** Its manager registered and heartbeats. */
  | 'registered'
  /** Stopped heartbeating, or its job ended on its own, or never started. */
  | 'lost'
  /** Cancelled by the executor. */
  | 'cancelled';

export interface BlockActorOptions {
  blockId: string;
  provider: ExecutionProvider;
  /** Batches the status questions of all blocks of the executor. */
  poller: StatusPoller;
  manager: Ref<FromBlockActor>;
  /** The block manager's command line. */
  command: string;
  /** Environment the block manager gets (the NATS credential). */
  env: Record<string, string>;
  tasksPerNode: number;
  heartbeatPeriodMs: number;
  heartbeatThresholdMs: number;
}

/**
 * The proxy of one provider job: submits it, watches its heartbeats and its job state, and
 * declares it lost when either says it is gone, so that its tasks are tried again elsewhere.
 */
class BlockActor implements Behaviour<ToBlockActor> {
  readonly #options: BlockActorOptions;
  readonly #self: Ref<ToBlockActor>;
  readonly #timer: NodeJS.Timeout;
  #phase: BlockPhase = 'submitting';
  #jobId: string | undefined;
  #lastHeartbeat = Date.now();
  #checking = false;

  constructor(self: Ref<ToBlockActor>, options: BlockActorOptions) {
    this.#self = self;
    this.#options = options;
    const { provider, command, tasksPerNode, blockId, env } = options;
    provider.submit(command, tasksPerNode, `parsl-ts-${blockId}`, { env }).then(
      (jobId) => send(self, { type: 'submitted', jobId }),
      (error: unknown) => send(self, { type: 'submit-failed', error }),
    );
    this.#timer = setInterval(() => send(self, { type: 'check' }), Math.max(100, Math.min(options.heartbeatPeriodMs, 5_000)));
    this.#timer.unref();
  }

  get phase(): BlockPhase {
    return this.#phase;
  }

  receive(msg: ToBlockActor): void | Promise<void> {
    switch (msg.type) {
      case 'submitted':
        this.#jobId = msg.jobId;
        if (this.#phase === 'submitting') this.#phase = 'pending';
        else if (this.#phase === 'cancelled') void this.#options.provider.cancel([msg.jobId]);
        return;
      case 'submit-failed':
        return this.#lost(`the provider could not submit it: ${(msg.error as Error)?.message ?? String(msg.error)}`);
      case 'registered':
        this.#phase = 'registered';
        this.#lastHeartbeat = Date.now();
        send(this.#options.manager, { type: 'block-registered', blockId: this.#options.blockId, workers: msg.workers });
        return;
      case 'refused':
        void this.#cancelJob();
        return this.#lost(msg.reason);
      case 'heartbeat':
        this.#lastHeartbeat = Date.now();
        return;
      case 'check':
        return this.#check();
      case 'job-state': {
        const { status } = msg;
        if (!TERMINAL_JOB_STATES.has(status.state) || (this.#phase !== 'pending' && this.#phase !== 'registered')) return;
        const details = [
          status.state,
          status.exitCode !== undefined ? `exit code ${status.exitCode}` : undefined,
          status.message,
        ].filter(Boolean);
        const stderr = msg.stderrTail ? `; its stderr ends with: ${msg.stderrTail}` : status.stderrPath ? `; its stderr is in ${status.stderrPath}` : '';
        // A registered block whose job completed was drained, or its walltime ended the manager cleanly.
        const graceful = this.#phase === 'registered' && status.state === 'completed';
        return this.#lost(`its job ${this.#jobId} ended (${details.join(', ')})${stderr}`, graceful);
      }
      case 'cancel':
        this.#phase = 'cancelled';
        clearInterval(this.#timer);
        return this.#cancelJob().finally(msg.done);
    }
  }

  #check(): void {
    if (this.#phase === 'registered' && Date.now() - this.#lastHeartbeat > this.#options.heartbeatThresholdMs) {
      this.#lost(`no heartbeat for ${this.#options.heartbeatThresholdMs} ms`);
      void this.#cancelJob();
      return;
    }
    if ((this.#phase === 'pending' || this.#phase === 'registered') && this.#jobId !== undefined && !this.#checking) {
      // Asked outside the actor's turn: a scheduler may take seconds to answer.
      this.#checking = true;
      this.#options.poller.statusOf(this.#jobId).then(
        async (status) => {
          if (status) {
            const stderrTail = TERMINAL_JOB_STATES.has(status.state) && this.#phase === 'pending' ? await this.#stderrTail(status) : undefined;
            send(this.#self, { type: 'job-state', status, stderrTail });
          }
          this.#checking = false;
        },
        () => (this.#checking = false),
      );
    }
  }

  /** The end of a job's stderr, to say why a block never started (best effort). */
  async #stderrTail(status: JobStatus): Promise<string | undefined> {
    if (!status.stderrPath) return undefined;
    try {
      const { stdout } = await this.#options.provider.channel.exec(`tail -c 500 ${shellQuote(status.stderrPath)}`, { timeoutMs: 5_000 });
      return stdout.trim().replace(/\s+/g, ' ') || undefined;
    } catch {
      return undefined;
    }
  }

  #lost(reason: string, graceful = false): void {
    if (this.#phase === 'lost' || this.#phase === 'cancelled') return;
    this.#phase = 'lost';
    clearInterval(this.#timer);
    send(this.#options.manager, { type: 'block-lost', blockId: this.#options.blockId, reason, graceful });
  }

  async #cancelJob(): Promise<void> {
    if (this.#jobId === undefined) return;
    try {
      await this.#options.provider.cancel([this.#jobId]);
    } catch {
      // The job may be gone already; nothing else to release.
    }
  }

  stopped(): void {
    clearInterval(this.#timer);
  }
}

/** Spawns the actor of one block; it submits the job at once. */
export function spawnBlock(parent: Ref<unknown>, options: BlockActorOptions): Ref<ToBlockActor> {
  return spawnBehaviour<ToBlockActor, BlockActor>(parent, `block-${options.blockId}`, (ctx) => new BlockActor(ctx.self, options));
}

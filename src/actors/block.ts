import { spawnBehaviour, send, type Behaviour, type Ref, type StopReason } from './actor.ts';
import { TERMINAL_JOB_STATES, type ExecutionProvider, type JobStatus } from '../providers/provider.ts';
import { shellQuote } from '../common/shell-quote.ts';
import type { StatusPoller } from './htex/status-poller.ts';
import type { BlockLife } from './htex/block-phase.ts';

export type { BlockPhase } from './htex/block-phase.ts';

/** Messages a block actor handles. */
export type ToBlockActor =
  | { type: 'submitted' }
  | { type: 'submit-failed'; error: unknown }
  | { type: 'registered' }
  | { type: 'refused'; reason: string }
  | { type: 'heartbeat' }
  | { type: 'check' }
  | { type: 'job-state'; status: JobStatus; stderrTail?: string | undefined }
  | { type: 'cancel'; done: () => void };

/**
 * What a block actor tells its executor manager, with the `run` of the manager state that
 * started the block: a restarted manager drops what the previous state's blocks still say
 * (block ids start at 0 again in each state, so the id alone would name one of its own).
 */
export type FromBlockActor =
  | { type: 'block-lost'; run: string; blockId: string; reason: string; graceful?: boolean }
  | { type: 'block-registered'; run: string; blockId: string; workers: number };

export interface BlockActorOptions {
  /** The run id of the manager state that starts the block (its generation: a restarted manager has another). */
  run: string;
  /** The block's phase and facts, shared with the executor manager (see block-phase.ts). */
  life: BlockLife;
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
  /** Where a provider on this machine writes the block's submit script and its stdout/stderr (`<run dir>/submit_scripts`). */
  scriptDir?: string | undefined;
}

/** Cancels a job, ignoring a job that is gone already. */
async function cancelQuietly(provider: ExecutionProvider, jobId: string): Promise<void> {
  try {
    await provider.cancel([jobId]);
  } catch {
    // The job may be gone already; nothing else to release.
  }
}

/**
 * The proxy of one provider job: submits it, watches its heartbeats and its job state, and
 * declares it lost when either says it is gone, so that its tasks are tried again elsewhere.
 * Restarted after a crash, it takes over the job its predecessor submitted (the job id lives
 * in the block's `BlockLife`); stopped, it cancels the job.
 */
class BlockActor implements Behaviour<ToBlockActor> {
  readonly #options: BlockActorOptions;
  readonly #life: BlockLife;
  readonly #self: Ref<ToBlockActor>;
  #timer: NodeJS.Timeout | undefined;
  #lastHeartbeat = Date.now();
  #checking = false;

  constructor(self: Ref<ToBlockActor>, options: BlockActorOptions) {
    this.#self = self;
    this.#options = options;
    this.#life = options.life;
  }

  started(): void {
    const { provider, command, tasksPerNode, env, life, scriptDir } = this.#options;
    if (life.ended) return;
    if (life.phase === 'submitting' && !life.jobRequested) {
      life.jobRequested = true;
      provider.submit(command, tasksPerNode, `parsl-ts-${life.blockId}`, { env, scriptDir }).then(
        (jobId) => {
          life.jobId = jobId;
          // Cancelled (or its actor stopped) while the provider was busy: the job goes at once.
          if (life.ended) void cancelQuietly(provider, jobId);
          else send(this.#self, { type: 'submitted' });
        },
        (error: unknown) => send(this.#self, { type: 'submit-failed', error }),
      );
    }
    this.#timer = setInterval(() => send(this.#self, { type: 'check' }), Math.max(100, Math.min(this.#options.heartbeatPeriodMs, 5_000)));
    this.#timer.unref();
  }

  receive(msg: ToBlockActor): void | Promise<void> {
    const life = this.#life;
    switch (msg.type) {
      case 'submitted':
        if (life.phase === 'submitting') life.to('pending');
        return;
      case 'submit-failed':
        return this.#lost(`the provider could not submit it: ${(msg.error as Error)?.message ?? String(msg.error)}`);
      case 'registered':
        this.#lastHeartbeat = Date.now();
        send(this.#options.manager, { type: 'block-registered', run: this.#options.run, blockId: life.blockId, workers: life.workers });
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
        // Only a status of this block's own job says anything of it.
        if (status.jobId !== life.jobId) return;
        if (!TERMINAL_JOB_STATES.has(status.state) || life.ended || life.phase === 'submitting') return;
        const details = [
          status.state,
          status.exitCode !== undefined ? `exit code ${status.exitCode}` : undefined,
          status.message,
        ].filter(Boolean);
        const stderr = msg.stderrTail ? `; its stderr ends with: ${msg.stderrTail}` : status.stderrPath ? `; its stderr is in ${status.stderrPath}` : '';
        // A registered block whose job completed was drained, or its walltime ended the manager cleanly.
        const graceful = (life.phase === 'registered' || life.phase === 'draining') && status.state === 'completed';
        return this.#lost(`its job ${life.jobId} ended (${details.join(', ')})${stderr}`, graceful);
      }
      case 'cancel': {
        this.#stopTimer();
        const draining = life.phase === 'draining';
        return this.#cancel()
          .then(() => {
            // Cancelled at the end of its drain period: what it still held is lost, and must fail, not hang.
            if (draining) send(this.#options.manager, { type: 'block-lost', run: this.#options.run, blockId: life.blockId, reason: 'cancelled: it did not finish draining within drainPeriod' });
          })
          .finally(msg.done);
      }
    }
  }

  #check(): void {
    const life = this.#life;
    if (life.ended) return this.#stopTimer();
    const heard = life.phase === 'registered' || life.phase === 'draining';
    if (heard && Date.now() - this.#lastHeartbeat > this.#options.heartbeatThresholdMs) {
      this.#lost(`no heartbeat for ${this.#options.heartbeatThresholdMs} ms`);
      void this.#cancelJob();
      return;
    }
    if (life.phase !== 'submitting' && life.jobId !== undefined && !this.#checking) {
      // Asked outside the actor's turn: a scheduler may take seconds to answer.
      this.#checking = true;
      this.#options.poller.statusOf(life.jobId).then(
        async (status) => {
          if (status) {
            const stderrTail = TERMINAL_JOB_STATES.has(status.state) && life.phase === 'pending' ? await this.#stderrTail(status) : undefined;
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
    if (this.#life.ended) return;
    this.#life.to('lost');
    this.#stopTimer();
    send(this.#options.manager, { type: 'block-lost', run: this.#options.run, blockId: this.#life.blockId, reason, graceful });
  }

  /** Cancels the block: its phase first, then its job (if the provider gave one yet). */
  async #cancel(): Promise<void> {
    if (this.#life.ended) return;
    this.#life.to('cancelled');
    await this.#cancelJob();
  }

  async #cancelJob(): Promise<void> {
    if (this.#life.jobId !== undefined) await cancelQuietly(this.#options.provider, this.#life.jobId);
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async stopped(reason: StopReason): Promise<void> {
    this.#stopTimer();
    // A restart keeps the job for the next state; a stop ends it.
    if (reason === 'stop') await this.#cancel();
  }
}

/**
 * The name of a block's actor: its block id and its manager state's run. nact finds an actor
 * by its name under its parent, and a restarted manager keeps its reference and numbers its
 * blocks from 0 again: with the block id alone, what an old block actor had under way (a job
 * status asked before the restart and answered after it, about the job the old state
 * cancelled) would reach the new state's block of the same id and declare it lost.
 */
export function blockActorName(run: string, blockId: string): string {
  return `block-${blockId}.${run}`;
}

/** Spawns the actor of one block; it submits the job when it starts. */
export function spawnBlock(parent: Ref<unknown>, options: BlockActorOptions): Ref<ToBlockActor> {
  return spawnBehaviour<ToBlockActor, BlockActor>(parent, blockActorName(options.run, options.life.blockId), (ctx) => new BlockActor(ctx.self, options));
}

/**
 * The block manager: the process a provider starts on each node of a block (Parsl's
 * `process_worker_pool`). It connects to NATS, registers, heartbeats, pulls task batches from
 * the JetStream work queue up to its capacity, runs them on worker actors (the same worker
 * code as the thread executor) and sends results back in batches. A batch is acknowledged
 * only once its results are stored, so a block that dies loses nothing. The node-side helpers
 * (pulling, heartbeats, registration, reports) are in src/block/; `parsl-ts block`
 * (src/cli/block.ts) is the process entry.
 */
import { hostname, availableParallelism } from 'node:os';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { spawnBehaviour, send, startActorSystem, stopActor, type Behaviour, type Ref } from './actor.ts';
import type { WireOutcome } from '../wire/protocol.ts';
import { WorkerPool } from './worker-pool.ts';
import type { FromWorkerActor, PoolTask } from './worker.ts';
import { connectNats, type NatsConnectionOptions } from '../nats/connection.ts';
import { PROTOCOL_VERSION, DIRECT_ACCEPTED, DIRECT_BUSY, controlSchema, decodeBinary, decodeJson, encodeJson, subjectsFor, taskBatchSchema, type WorkerSampleMessage } from '../nats/protocol.ts';
import { PullBudget } from '../block/pull-budget.ts';
import { pullBatches } from '../block/pull-loop.ts';
import { startHeartbeats } from '../block/heartbeats.ts';
import { register } from '../block/register.ts';
import { ReportSender } from '../block/reports.ts';
import { ResourceSampler } from '../block/resources.ts';
import { stillWanted } from '../block/still-wanted.ts';
import { serializeError, TaskCancelledError } from '../common/errors.ts';

export { BLOCK_CONSUMER } from '../nats/protocol.ts';

export interface BlockManagerOptions {
  runId: string;
  label: string;
  blockId: string;
  nats: NatsConnectionOptions;
  /** Workers on this node. @default cores / coresPerWorker */
  maxWorkers?: number | undefined;
  coresPerWorker: number;
  /** Task batches held beyond one per worker. */
  prefetchCapacity: number;
  heartbeatPeriodMs: number;
  heartbeatThresholdMs: number;
  /** Overrides the version this block reports (tests of the version check). */
  packageVersion?: string | undefined;
  log?: (line: string) => void;
}

/** A held batch is marked in progress this often, so JetStream does not hand it to another block. */
const WORKING_PERIOD_MS = 10_000;
/**
 * A batch is claimed (reported to the DFK, so that its tasks fail with ManagerLost if this
 * block is lost) only if it is still running this long after it arrived. Most batches finish
 * sooner: their claim would cost three JetStream messages and a stored message for nothing.
 * A block lost before it claims a batch leaves it to JetStream, which hands it to another
 * block once its ack wait ends.
 */
const CLAIM_AFTER_MS = 100;
/**
 * Worker threads of a block do not poll for more work once idle: the next batch comes
 * through NATS, never within the thread executor's spin (1 ms), so the spin would only burn a
 * core the block's own main thread and nats-server need.
 */
const BLOCK_IDLE_SPIN_MS = 0;

type ToBlock =
  | FromWorkerActor
  | { type: 'batch'; msg: JsMsg }
  /** A batch delivered again, with the tries the DFK still waits for. */
  | { type: 'checked'; msg: JsMsg; tasks: PoolTask[] }
  | { type: 'direct'; data: Uint8Array; respond: (answer: string) => void }
  | { type: 'stored'; outcomes: WireOutcome[] }
  | { type: 'cancel'; taskId: number; attempt: number }
  | { type: 'drain' };

interface HeldBatch {
  /** The work-queue message to acknowledge; none for a batch the DFK sent straight here. */
  msg: JsMsg | undefined;
  /** Tasks whose results are not stored yet: the batch is acknowledged at 0. */
  remaining: number;
  /** Tasks the workers have not finished: the batch stops counting against capacity at 0. */
  running: number;
  /** Publishes the claim, unless the batch is done first. */
  claim: NodeJS.Timeout | undefined;
}

/** Runs a block manager until it is drained, shut down, or the DFK is gone. Resolves with the exit code. */
export async function runBlockManager(options: BlockManagerOptions): Promise<number> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[block ${options.blockId}] ${line}\n`));
  const subjects = subjectsFor(options.runId, options.label);
  const workers = Math.max(1, Math.min(options.maxWorkers ?? Infinity, Math.floor(availableParallelism() / options.coresPerWorker)));
  const nc = await connectNats(options.nats, `parsl-ts block ${options.blockId}`);
  try {
    const answer = await register(
      nc,
      subjects,
      { blockId: options.blockId, workers, thresholdMs: options.heartbeatThresholdMs, packageVersion: options.packageVersion },
      log,
    );
    if (!answer.ok) {
      log(`registration refused: ${answer.error}`);
      return 3;
    }
    log(`registered with the DFK: ${workers} workers on ${hostname()}, pid ${process.pid}`);
    const system = startActorSystem();
    let finished!: (code: number) => void;
    const done = new Promise<number>((resolve) => (finished = resolve));
    const budget = new PullBudget(workers + options.prefetchCapacity);
    const interval = answer.resourceMonitoringIntervalMs;
    const resources =
      interval === undefined
        ? undefined
        : new ResourceSampler(nc, subjects, { blockId: options.blockId, intervalMs: interval, log, sample: () => managers.get(manager)?.sample() ?? Promise.resolve([]) });
    const context: BlockManagerContext = { nc, subjects, blockId: options.blockId, workers, log, finished, budget, resources };
    const manager = spawnBehaviour<ToBlock, BlockManager>(system, 'block-manager', (ctx) => new BlockManager(ctx.self, context), {
      onChildCrash: (child, error, ctx) => managers.get(ctx.self)?.childCrashed(child, error, ctx) ?? (ctx.resetChild as symbol),
    });
    const stopPulling = pullBatches(jetstream(nc), subjects, budget, (msg) => send(manager, { type: 'batch', msg }), log);
    const stopHeartbeats = startHeartbeats(nc, subjects, {
      blockId: options.blockId,
      heartbeatPeriodMs: options.heartbeatPeriodMs,
      heartbeatThresholdMs: options.heartbeatThresholdMs,
      inFlight: () => managers.get(manager)?.inFlight ?? 0,
      sample: () => managers.get(manager)?.sample() ?? Promise.resolve([]),
      dfkGone: () => finished(4),
      log,
    });
    const direct = nc.subscribe(subjects.blockTasks(options.blockId), {
      callback: (error, msg) => {
        if (!error) send(manager, { type: 'direct', data: msg.data, respond: (answer) => msg.respond(encodeJson(answer)) });
      },
    });
    const control = nc.subscribe(subjects.blockControl(options.blockId), {
      callback: (error, msg) => {
        if (error) return;
        try {
          const command = decodeJson(msg.data, controlSchema, 'control message');
          if (command.type === 'cancel') {
            send(manager, { type: 'cancel', taskId: command.taskId, attempt: command.attempt });
            return;
          }
          log(`told to ${command.type}`);
          if (command.type === 'shutdown') finished(0);
          else send(manager, { type: 'drain' });
        } catch (e) {
          log(`rejected a control message: ${(e as Error).message}`);
        }
      },
    });
    const onSignal = () => send(manager, { type: 'drain' });
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    const code = await done;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    direct.unsubscribe();
    control.unsubscribe();
    stopHeartbeats();
    resources?.stop();
    // Before the connection closes: what the last pull brings is handed back, not dropped.
    await stopPulling();
    await managers.get(manager)?.close();
    stopActor(system);
    return code;
  } finally {
    await nc.drain().catch(() => nc.close());
  }
}

interface BlockManagerContext {
  nc: NatsConnection;
  subjects: ReturnType<typeof subjectsFor>;
  blockId: string;
  workers: number;
  log: (line: string) => void;
  /** Ends the block manager with an exit code. */
  finished: (code: number) => void;
  budget: PullBudget;
  /** Samples the running tries when the DFK's monitoring asks for resources. */
  resources: ResourceSampler | undefined;
}

const managers = new WeakMap<Ref<unknown>, BlockManager>();

/** The block manager actor: holds pulled batches, runs their tasks, and acks each batch once its results are stored. */
class BlockManager implements Behaviour<ToBlock> {
  #pool!: WorkerPool;
  readonly #self: Ref<ToBlock>;
  readonly #context: BlockManagerContext;
  readonly #reports: ReportSender;
  /** Ends the reports' retries when the actor stops. */
  readonly #abort = new AbortController();
  /** Batches pulled and not yet acknowledged, by stream sequence. */
  readonly #batches = new Map<number, HeldBatch>();
  /** Which batch each task try came in. */
  readonly #batchOf = new Map<string, number>();
  #working: NodeJS.Timeout | undefined;
  #draining = false;
  /** Batches taken straight from the DFK, counted down from -1 so their keys never meet stream sequences. */
  #directBatches = 0;
  /** Tries cancelled before this block held them (`taskId:attempt`): skipped if a batch brings them. */
  readonly #cancelled = new Set<string>();

  constructor(self: Ref<ToBlock>, context: BlockManagerContext) {
    this.#self = self;
    this.#context = context;
    this.#reports = new ReportSender(context.nc, jetstream(context.nc), context.subjects, context.blockId, this.#abort.signal, context.log);
  }

  started(): void {
    managers.set(this.#self, this);
    this.#pool = new WorkerPool(this.#self as Ref<FromWorkerActor>, {
      name: `block-${this.#context.blockId}`,
      workers: this.#context.workers,
      idleSpinMs: BLOCK_IDLE_SPIN_MS,
      report: (outcomes) => this.#report(outcomes),
      running: (taskId, attempt) => {
        this.#context.resources?.started(taskId, attempt);
        void this.#reports.store({ v: PROTOCOL_VERSION, kind: 'running', blockId: this.#context.blockId, taskId, attempt });
      },
    });
    this.#working = setInterval(() => {
      for (const batch of this.#batches.values()) batch.msg?.working();
    }, WORKING_PERIOD_MS);
  }

  /** Tasks on this block's workers. */
  get inFlight(): number {
    return this.#pool.inFlight;
  }

  /** Each worker thread's memory and busy time, asked on its control plane. */
  sample(): Promise<WorkerSampleMessage[]> {
    return this.#pool.sample();
  }

  childCrashed(...args: Parameters<WorkerPool['childCrashed']>): symbol {
    return this.#pool.childCrashed(...args);
  }

  /** Stops the workers, then releases what the actor holds (before the connection closes). */
  async close(): Promise<void> {
    await this.#pool.stop();
    this.stopped();
  }

  receive(msg: ToBlock): void {
    switch (msg.type) {
      case 'batch':
        return this.#accept(msg.msg);
      case 'checked':
        return this.#hold(msg.msg, msg.tasks);
      case 'direct':
        return this.#acceptDirect(msg.data, msg.respond);
      case 'stored':
        return this.#stored(msg.outcomes);
      case 'cancel':
        if (!this.#pool.cancel(msg.taskId, msg.attempt)) this.#cancelled.add(`${msg.taskId}:${msg.attempt}`);
        return;
      case 'drain':
        this.#draining = true;
        this.#context.budget.close();
        return this.#maybeDone();
      default:
        this.#pool.handle(msg);
    }
  }

  /** Decodes and checks a batch; logs and returns undefined for one that is not valid. */
  #decode(data: Uint8Array, what: string): PoolTask[] | undefined {
    let batch;
    try {
      batch = decodeBinary(data, taskBatchSchema, what);
    } catch (error) {
      this.#context.log(`rejected ${(error as Error).message}`);
      return undefined;
    }
    const functions = new Map(batch.functions.map((f) => [f.id, f]));
    const tasks: PoolTask[] = [];
    for (const wire of batch.tasks) {
      const fn = functions.get(wire.fnId);
      if (!fn) {
        this.#context.log(`rejected ${what}: task ${wire.taskId} names function ${wire.fnId}, which the batch does not carry`);
        return undefined;
      }
      tasks.push({ wire, fn });
    }
    return tasks;
  }

  /**
   * A batch the DFK sent straight to this block (a short queue: skipping the work queue's store
   * saves a hop). Taken only with room to spare; the DFK records it as claimed on the answer.
   */
  #acceptDirect(data: Uint8Array, respond: (answer: string) => void): void {
    const { budget } = this.#context;
    // Checked first, busy or not: a sender of garbage is told so, not asked to try elsewhere.
    const tasks = this.#decode(data, 'direct task batch');
    if (!tasks) return respond('rejected');
    if (this.#draining || budget.free <= 0) return respond(DIRECT_BUSY);
    budget.take();
    const key = -++this.#directBatches;
    this.#batches.set(key, { msg: undefined, remaining: tasks.length, running: tasks.length, claim: undefined });
    for (const { wire } of tasks) this.#batchOf.set(`${wire.taskId}:${wire.attempt}`, key);
    respond(DIRECT_ACCEPTED);
    this.#submit(tasks);
  }

  /** Runs a batch's tasks, except tries cancelled before they came: those end at once. */
  #submit(tasks: PoolTask[]): void {
    this.#context.resources?.took(tasks.map((t) => t.wire));
    if (this.#cancelled.size === 0) return this.#pool.submit(tasks);
    const cancelled: WireOutcome[] = [];
    const run = tasks.filter(({ wire }) => {
      if (!this.#cancelled.delete(`${wire.taskId}:${wire.attempt}`)) return true;
      const error = serializeError(new TaskCancelledError(`task ${wire.taskId} was cancelled before it started`));
      cancelled.push({ taskId: wire.taskId, attempt: wire.attempt, ok: false, error });
      return false;
    });
    this.#pool.submit(run);
    if (cancelled.length > 0) this.#report(cancelled);
  }

  #accept(msg: JsMsg): void {
    const tasks = this.#decode(msg.data, `task batch #${msg.seq}`);
    if (!tasks) {
      // Never retried: the same bytes would fail the same way.
      msg.term();
      this.#context.budget.release();
      return;
    }
    if (msg.info.redelivered) {
      // Handed out again: run only what the DFK still waits for (still-wanted.ts).
      void stillWanted(this.#context.nc, this.#context.subjects, this.#context.blockId, tasks.map(({ wire }) => wire), this.#abort.signal).then((wanted) =>
        send(this.#self, { type: 'checked', msg, tasks: tasks.filter(({ wire }) => wanted.has(`${wire.taskId}:${wire.attempt}`)) }),
      );
      return;
    }
    this.#hold(msg, tasks);
  }

  #hold(msg: JsMsg, tasks: PoolTask[]): void {
    if (tasks.length === 0) {
      // Every try of it has its result at the DFK already.
      msg.ack();
      this.#context.budget.release();
      return this.#maybeDone();
    }
    const claim = setTimeout(
      () =>
        void this.#reports.store({
          v: PROTOCOL_VERSION,
          kind: 'claimed',
          blockId: this.#context.blockId,
          seq: msg.seq,
          tasks: tasks.map(({ wire }) => ({ taskId: wire.taskId, attempt: wire.attempt })),
        }),
      CLAIM_AFTER_MS,
    );
    this.#batches.set(msg.seq, { msg, remaining: tasks.length, running: tasks.length, claim });
    for (const { wire } of tasks) this.#batchOf.set(`${wire.taskId}:${wire.attempt}`, msg.seq);
    this.#submit(tasks);
  }

  #report(outcomes: WireOutcome[]): void {
    for (const outcome of outcomes) {
      const seq = this.#batchOf.get(`${outcome.taskId}:${outcome.attempt}`);
      const batch = seq === undefined ? undefined : this.#batches.get(seq);
      if (batch && --batch.running === 0) {
        clearTimeout(batch.claim);
        batch.claim = undefined;
        this.#context.budget.release();
      }
    }
    // The tries' final resource samples go first: on the DFK's side they precede the results.
    this.#context.resources?.ended(outcomes);
    void this.#reports.deliver({ v: PROTOCOL_VERSION, kind: 'results', blockId: this.#context.blockId, outcomes }).then((delivered) => {
      if (delivered) send(this.#self, { type: 'stored', outcomes });
    });
  }

  /** Results are stored: acknowledge the batches that are now complete. */
  #stored(outcomes: WireOutcome[]): void {
    for (const outcome of outcomes) {
      const key = `${outcome.taskId}:${outcome.attempt}`;
      const seq = this.#batchOf.get(key);
      if (seq === undefined) continue;
      this.#batchOf.delete(key);
      const batch = this.#batches.get(seq);
      if (batch && --batch.remaining === 0) {
        batch.msg?.ack();
        this.#batches.delete(seq);
      }
    }
    this.#maybeDone();
  }

  #maybeDone(): void {
    if (this.#draining && this.#batches.size === 0) {
      this.#context.log('drained: every batch is done');
      this.#context.finished(0);
    }
  }

  /**
   * Ends the reports' retries and the timers; batches still held (a shutdown, or the DFK gone)
   * are handed back to the work queue at once rather than after their ack wait.
   */
  stopped(): void {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort();
    clearInterval(this.#working);
    for (const batch of this.#batches.values()) {
      clearTimeout(batch.claim);
      batch.msg?.nak();
    }
  }
}

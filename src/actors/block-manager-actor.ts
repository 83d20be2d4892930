/**
 * The block manager actor (block-manager.ts runs the process around it): holds the task
 * batches its node pulled or was sent, runs their tasks on worker actors, claims a batch that
 * runs long, reports results, and acknowledges each batch once its results are stored, so a
 * block that dies loses nothing. Kept apart from the process side (NATS connection,
 * registration, subscriptions, signals), which only feeds it messages.
 */
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { send, type Behaviour, type Ref } from './actor.ts';
import type { WireOutcome } from '../wire/protocol.ts';
import { WorkerPool } from './worker-pool.ts';
import type { FromWorkerActor, PoolTask } from './worker.ts';
import { PROTOCOL_VERSION, DIRECT_ACCEPTED, DIRECT_BUSY, decodeBinary, taskBatchSchema, type Subjects, type WorkerSampleMessage } from '../nats/protocol.ts';
import type { PullBudget } from '../block/pull-budget.ts';
import { ReportSender } from '../block/reports.ts';
import type { ResourceSampler } from '../block/resources.ts';
import { stillWanted } from '../block/still-wanted.ts';
import { serializeError, TaskCancelledError } from '../common/errors.ts';

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

export type ToBlock =
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

export interface BlockManagerContext {
  nc: NatsConnection;
  subjects: Subjects;
  blockId: string;
  /** Worker threads. */
  threads: number;
  /** Tries each thread runs at once. */
  tasksPerWorker: number;
  log: (line: string) => void;
  /** Ends the block manager with an exit code. */
  finished: (code: number) => void;
  budget: PullBudget;
  /** Samples the running tries when the DFK's monitoring asks for resources. */
  resources: ResourceSampler | undefined;
}

/** The actor's state, by its reference: the process side asks it for its load, samples and close. */
export const blockManagers = new WeakMap<Ref<unknown>, BlockManager>();

/** The block manager actor: holds pulled batches, runs their tasks, and acks each batch once its results are stored. */
export class BlockManager implements Behaviour<ToBlock> {
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
    blockManagers.set(this.#self, this);
    this.#pool = new WorkerPool(this.#self as Ref<FromWorkerActor>, {
      name: `block-${this.#context.blockId}`,
      workers: this.#context.threads,
      tasksPerWorker: this.#context.tasksPerWorker,
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

/**
 * The block manager: the process a provider starts on each node of a block (Parsl's
 * `process_worker_pool`). It connects to NATS, registers, heartbeats, pulls task batches from
 * the JetStream work queue up to its capacity, runs them on worker actors (the same worker
 * code as the thread executor) and sends results back in batches. A batch is acknowledged
 * only once its results are stored, so a block that dies loses nothing.
 */
import { hostname, availableParallelism } from 'node:os';
import { start, stop } from 'nact';
import { jetstream, type Consumer, type JsMsg, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { spawnBehaviour, send, type Behaviour, type Ref } from './actor.ts';
import type { WireOutcome } from '../wire/protocol.ts';
import { WorkerPool } from './worker-pool.ts';
import type { FromWorkerActor, PoolTask } from './worker.ts';
import { connectNats, type NatsConnectionOptions } from '../nats/connection.ts';
import {
  PROTOCOL_VERSION,
  DIRECT_ACCEPTED,
  DIRECT_BUSY,
  controlSchema,
  decodeBinary,
  decodeJson,
  encodeBinary,
  encodeJson,
  registrationReplySchema,
  subjectsFor,
  taskBatchSchema,
  type BlockReport,
  type Registration,
  type WorkerSampleMessage,
  type Subjects,
} from '../nats/protocol.ts';
import { PACKAGE_VERSION } from '../common/version.ts';
import { serializeError, TaskCancelledError } from '../common/errors.ts';

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

/** JetStream consumer that every block of one executor pulls from. */
export const BLOCK_CONSUMER = 'blocks';
/** How long results sent straight to the DFK wait for its answer before they are stored instead. */
const DIRECT_RESULTS_TIMEOUT_MS = 2_000;
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

/**
 * How many batches a block may hold, between the puller and the block manager actor: a
 * batch counts from when it is pulled until its tasks have run (not until its results are
 * stored), so the next batch is pulled while the last one's results are being stored.
 */
class PullBudget {
  #capacity: number;
  #inUse = 0;
  #wake: (() => void) | undefined;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get free(): number {
    return this.#capacity - this.#inUse;
  }

  take(): void {
    this.#inUse++;
  }

  release(): void {
    this.#inUse--;
    this.#wake?.();
  }

  /** Draining: pull nothing more. */
  close(): void {
    this.#capacity = 0;
  }

  /** Resolves when a batch is released, or after `ms`. */
  waitForRoom(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
    });
  }
}

/** Runs a block manager until it is drained, shut down, or the DFK is gone. Resolves with the exit code. */
export async function runBlockManager(options: BlockManagerOptions): Promise<number> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[block ${options.blockId}] ${line}\n`));
  const subjects = subjectsFor(options.runId, options.label);
  const workers = Math.max(1, Math.min(options.maxWorkers ?? Infinity, Math.floor(availableParallelism() / options.coresPerWorker)));
  const nc = await connectNats(options.nats, `parsl-ts block ${options.blockId}`);
  try {
    const refusal = await register(nc, subjects, options, workers, log);
    if (refusal) {
      log(`registration refused: ${refusal}`);
      return 3;
    }
    log(`registered with the DFK: ${workers} workers on ${hostname()}, pid ${process.pid}`);
    const js = jetstream(nc);
    const system = start();
    let finished!: (code: number) => void;
    const done = new Promise<number>((resolve) => (finished = resolve));
    const budget = new PullBudget(workers + options.prefetchCapacity);
    const manager = spawnBehaviour<ToBlock, BlockManager>(
      system,
      'block-manager',
      (ctx) => new BlockManager(ctx.self, nc, js, subjects, options, workers, log, finished, budget),
      { onChildCrash: (child, error, ctx) => managers.get(ctx.self)?.pool.childCrashed(child, error, ctx) ?? (ctx.resetChild as symbol) },
    );
    const stopPulling = pullBatches(js, subjects, manager, budget, log);
    const heartbeat = startHeartbeats(nc, subjects, options, manager, log, finished);
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
    stopPulling();
    heartbeat();
    control.unsubscribe();
    direct.unsubscribe();
    await managers.get(manager)?.pool.stop();
    stop(system);
    return code;
  } finally {
    await nc.drain().catch(() => nc.close());
  }
}

async function register(
  nc: NatsConnection,
  subjects: Subjects,
  options: BlockManagerOptions,
  workers: number,
  log: (line: string) => void,
): Promise<string | undefined> {
  const registration: Registration = {
    protocolVersion: PROTOCOL_VERSION,
    packageVersion: options.packageVersion ?? PACKAGE_VERSION,
    blockId: options.blockId,
    host: hostname(),
    pid: process.pid,
    workers,
  };
  const until = Date.now() + options.heartbeatThresholdMs;
  for (;;) {
    try {
      const reply = await nc.request(subjects.register, encodeJson(registration), { timeout: 2_000 });
      const answer = decodeJson(reply.data, registrationReplySchema, 'registration reply');
      return answer.ok ? undefined : answer.error;
    } catch (error) {
      if (Date.now() > until) return `no DFK answered on ${subjects.register} within ${options.heartbeatThresholdMs} ms`;
      log(`registration not answered yet (${(error as Error).message}); trying again`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Pulls task batches while the budget has room. Returns a function that stops pulling. */
function pullBatches(
  js: JetStreamClient,
  subjects: Subjects,
  manager: Ref<ToBlock>,
  budget: PullBudget,
  log: (line: string) => void,
): () => void {
  let running = true;
  void (async () => {
    let consumer: Consumer | undefined;
    while (running) {
      try {
        const free = budget.free;
        if (free <= 0) {
          // Woken as soon as a batch has run; the timeout only re-checks `running`.
          await budget.waitForRoom(250);
          continue;
        }
        consumer ??= await js.consumers.get(subjects.taskStream, BLOCK_CONSUMER);
        const messages = await consumer.fetch({ max_messages: free, expires: 1_000 });
        for await (const msg of messages) {
          // Counted here, not when the actor gets to it, so the next fetch never asks for too many.
          budget.take();
          send(manager, { type: 'batch', msg });
        }
      } catch (error) {
        consumer = undefined;
        if (!running) return;
        log(`pulling tasks failed (${(error as Error).message}); trying again`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  })();
  return () => {
    running = false;
  };
}

function startHeartbeats(
  nc: NatsConnection,
  subjects: Subjects,
  options: BlockManagerOptions,
  manager: Ref<ToBlock>,
  log: (line: string) => void,
  finished: (code: number) => void,
): () => void {
  let lastDfkBeat = Date.now();
  const sub = nc.subscribe(subjects.dfkHeartbeat, {
    callback: () => {
      lastDfkBeat = Date.now();
    },
  });
  let workers: WorkerSampleMessage[] | undefined;
  const timer = setInterval(() => {
    const pool = managers.get(manager)?.pool;
    const inFlight = pool?.inFlight ?? 0;
    nc.publish(subjects.blockHeartbeat(options.blockId), encodeJson({ blockId: options.blockId, inFlight, at: Date.now(), workers }));
    // For the next beat: each thread answers on its control plane when its event loop is free.
    void pool?.sample().then((samples) => (workers = samples));
    if (Date.now() - lastDfkBeat > options.heartbeatThresholdMs) {
      log(`no heartbeat from the DFK for ${options.heartbeatThresholdMs} ms: it is gone; exiting`);
      finished(4);
    }
  }, options.heartbeatPeriodMs);
  return () => {
    clearInterval(timer);
    sub.unsubscribe();
  };
}

const managers = new WeakMap<Ref<unknown>, BlockManager>();

/** The block manager actor: holds pulled batches, runs their tasks, and acks each batch once its results are stored. */
class BlockManager implements Behaviour<ToBlock> {
  readonly pool: WorkerPool;
  readonly #self: Ref<ToBlock>;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #subjects: Subjects;
  readonly #blockId: string;
  readonly #log: (line: string) => void;
  readonly #finished: (code: number) => void;
  /** Batches pulled and not yet acknowledged, by stream sequence. */
  readonly #batches = new Map<number, HeldBatch>();
  /** Which batch each task try came in. */
  readonly #batchOf = new Map<string, number>();
  readonly #working: NodeJS.Timeout;
  #draining = false;
  #published = 0;
  /** Batches taken straight from the DFK, counted down from -1 so their keys never meet stream sequences. */
  #directBatches = 0;
  readonly #budget: PullBudget;
  /** Tries cancelled before this block held them (`taskId:attempt`): skipped if a batch brings them. */
  readonly #cancelled = new Set<string>();

  constructor(
    self: Ref<ToBlock>,
    nc: NatsConnection,
    js: JetStreamClient,
    subjects: Subjects,
    options: BlockManagerOptions,
    workers: number,
    log: (line: string) => void,
    finished: (code: number) => void,
    budget: PullBudget,
  ) {
    managers.set(self, this);
    this.#budget = budget;
    this.#self = self;
    this.#nc = nc;
    this.#js = js;
    this.#subjects = subjects;
    this.#blockId = options.blockId;
    this.#log = log;
    this.#finished = finished;
    this.pool = new WorkerPool(self as Ref<FromWorkerActor>, {
      name: `block-${options.blockId}`,
      workers,
      idleSpinMs: BLOCK_IDLE_SPIN_MS,
      report: (outcomes) => this.#report(outcomes),
      running: (taskId, attempt) =>
        void this.#publish({ v: PROTOCOL_VERSION, kind: 'running', blockId: this.#blockId, taskId, attempt }).catch(() => {}),
    });
    this.#working = setInterval(() => {
      for (const batch of this.#batches.values()) batch.msg?.working();
    }, WORKING_PERIOD_MS);
  }

  receive(msg: ToBlock): void {
    switch (msg.type) {
      case 'batch':
        return this.#accept(msg.msg);
      case 'direct':
        return this.#acceptDirect(msg.data, msg.respond);
      case 'stored':
        return this.#stored(msg.outcomes);
      case 'cancel':
        if (!this.pool.cancel(msg.taskId, msg.attempt)) this.#cancelled.add(`${msg.taskId}:${msg.attempt}`);
        return;
      case 'drain':
        this.#draining = true;
        this.#budget.close();
        return this.#maybeDone();
      default:
        this.pool.handle(msg);
    }
  }

  /** Decodes and checks a batch; logs and returns undefined for one that is not valid. */
  #decode(data: Uint8Array, what: string): PoolTask[] | undefined {
    let batch;
    try {
      batch = decodeBinary(data, taskBatchSchema, what);
    } catch (error) {
      this.#log(`rejected ${(error as Error).message}`);
      return undefined;
    }
    const functions = new Map(batch.functions.map((f) => [f.id, f]));
    const tasks: PoolTask[] = [];
    for (const wire of batch.tasks) {
      const fn = functions.get(wire.fnId);
      if (!fn) {
        this.#log(`rejected ${what}: task ${wire.taskId} names function ${wire.fnId}, which the batch does not carry`);
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
    if (this.#draining || this.#budget.free <= 0) return respond(DIRECT_BUSY);
    const tasks = this.#decode(data, 'direct task batch');
    if (!tasks) return respond('rejected');
    this.#budget.take();
    const key = -++this.#directBatches;
    this.#batches.set(key, { msg: undefined, remaining: tasks.length, running: tasks.length, claim: undefined });
    for (const { wire } of tasks) this.#batchOf.set(`${wire.taskId}:${wire.attempt}`, key);
    respond(DIRECT_ACCEPTED);
    this.#submit(tasks);
  }

  /** Runs a batch's tasks, except tries cancelled before they came: those end at once. */
  #submit(tasks: PoolTask[]): void {
    if (this.#cancelled.size === 0) return this.pool.submit(tasks);
    const cancelled: WireOutcome[] = [];
    const run = tasks.filter(({ wire }) => {
      if (!this.#cancelled.delete(`${wire.taskId}:${wire.attempt}`)) return true;
      const error = serializeError(new TaskCancelledError(`task ${wire.taskId} was cancelled before it started`));
      cancelled.push({ taskId: wire.taskId, attempt: wire.attempt, ok: false, error });
      return false;
    });
    this.pool.submit(run);
    if (cancelled.length > 0) this.#report(cancelled);
  }

  #accept(msg: JsMsg): void {
    const tasks = this.#decode(msg.data, `task batch #${msg.seq}`);
    if (!tasks) {
      // Never retried: the same bytes would fail the same way.
      msg.term();
      this.#budget.release();
      return;
    }
    const claim = setTimeout(
      () =>
        void this.#publish({
          v: PROTOCOL_VERSION,
          kind: 'claimed',
          blockId: this.#blockId,
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
        this.#budget.release();
      }
    }
    void this.#deliver({ v: PROTOCOL_VERSION, kind: 'results', blockId: this.#blockId, outcomes }).then(() =>
      send(this.#self, { type: 'stored', outcomes }),
    );
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
      this.#log('drained: every batch is done');
      this.#finished(0);
    }
  }

  /**
   * Results go straight to the DFK, which answers once it has them: one hop instead of a
   * stored message and its delivery. Without an answer (the DFK busy, the server restarting,
   * the connection down) they are stored in the results stream instead, where the DFK reads
   * them later; a result that arrives both ways is used once (the DFK ignores a second one).
   */
  async #deliver(report: BlockReport): Promise<void> {
    try {
      await this.#nc.request(this.#subjects.directResults, encodeBinary(report), { timeout: DIRECT_RESULTS_TIMEOUT_MS });
      return;
    } catch {
      await this.#publish(report);
    }
  }

  /** Publishes to the results stream until JetStream has stored it (a server restart only delays it). */
  async #publish(report: BlockReport): Promise<void> {
    const msgID = `${this.#blockId}-${++this.#published}`;
    const data = encodeBinary(report);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#js.publish(this.#subjects.results, data, { msgID, timeout: 5_000 });
        return;
      } catch (error) {
        if (attempt === 1 || attempt % 20 === 0) this.#log(`storing ${report.kind} not acknowledged (${(error as Error).message}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * attempt)));
      }
    }
  }

  stopped(): void {
    clearInterval(this.#working);
    for (const batch of this.#batches.values()) clearTimeout(batch.claim);
  }
}

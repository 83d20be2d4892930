import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, AckPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { send, spawnBehaviour, type Behaviour, type Ref } from './actor.ts';
import type { ExecTask, FromExecutor, TaskOutcome, ToExecutor } from './messages.ts';
import type { FunctionDef, WireTask } from '../wire/protocol.ts';
import { BlockStartError, ManagerLost } from '../common/errors.ts';
import { shellQuote } from '../common/shell-quote.ts';
import { connectNats, NATS_ENV, releaseProcessHold, type NatsConnectionOptions } from '../nats/connection.ts';
import { NatsServer } from '../nats/server.ts';
import {
  PROTOCOL_VERSION,
  DIRECT_ACCEPTED,
  blockHeartbeatSchema,
  blockReportSchema,
  decodeBinary,
  decodeJson,
  encodeBinary,
  encodeJson,
  registrationSchema,
  subjectsFor,
  type BlockReport,
  type Registration,
  type RegistrationReply,
  type Subjects,
  type TaskBatchMessage,
  type WorkerSampleMessage,
} from '../nats/protocol.ts';
import { PACKAGE_VERSION } from '../common/version.ts';
import { fromWire, toPoolTask } from './task-encoding.ts';
import { BLOCK_CONSUMER } from './block-manager.ts';
import { spawnBlock, type FromBlockActor, type ToBlockActor } from './block.ts';
import { StatusPoller } from './htex/status-poller.ts';
import type { ResolvedHighThroughputExecutorOptions } from '../executors/htex.ts';
import type { ExecutorContext } from './executor-managers.ts';
import { spawnStrategy, type FromStrategy, type ScalingDecision, type ScalingSnapshot } from './strategy.ts';

/** Durable consumer through which the DFK reads the results stream. */
const DFK_CONSUMER = 'dfk';
/** How long JetStream waits for a block's ack before handing a batch to another block. */
const TASK_ACK_WAIT_MS = 30_000;
const OK = new Uint8Array([1]);
/** Batches of at most this many tasks are offered straight to a block before the work queue. */
const DIRECT_MAX_TASKS = 8;
/** How long a block may take to take or refuse a batch offered straight to it. */
const DIRECT_TIMEOUT_MS = 1_000;
/** Blocks that fail to start this many times in a row stop the scaling of their executor. */
const MAX_START_FAILURES = 3;

/** The run's NATS resources, once started. */
interface Connected {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  server: NatsServer | undefined;
  /** What blocks are given to connect. */
  blockConnection: NatsConnectionOptions;
  subscriptions: Subscription[];
  stopConsuming: () => void;
}

/** Messages the HTEX manager handles. */
export type ToHtex =
  | ToExecutor
  | FromBlockActor
  | FromStrategy
  | { type: 'started'; connected: Connected }
  | { type: 'start-failed'; error: unknown }
  | { type: 'report'; report: BlockReport; ack: () => void }
  | { type: 'register'; registration: Registration; respond: (reply: RegistrationReply) => void }
  | { type: 'heartbeat'; blockId: string; inFlight: number; workers: WorkerSampleMessage[] | undefined }
  | { type: 'direct-accepted'; blockId: string; tasks: Array<{ taskId: number; attempt: number }> }
  | { type: 'tick' };

interface BlockRecord {
  ref: Ref<ToBlockActor>;
  workers: number;
  /** Submitted, not lost and not cancelled. */
  live: boolean;
  registered: boolean;
  /** When it last had no task in flight; undefined while busy. */
  idleSince: number | undefined;
  /** Where its block manager runs, once registered. */
  host?: string | undefined;
  pid?: number | undefined;
  /** Its worker threads as its last heartbeat described them. */
  samples?: WorkerSampleMessage[] | undefined;
}

/** What the executor knows of one of its blocks. */
export interface BlockInfo {
  blockId: string;
  live: boolean;
  workers: number;
  host: string | undefined;
  pid: number | undefined;
  /** Memory and busy time of each worker thread, from the block's last heartbeat. */
  samples: WorkerSampleMessage[] | undefined;
}

/** State of the managers, by actor reference, for supervision callbacks. */
export const htexManagers = new WeakMap<Ref<unknown>, HtexManager>();

/** This installation's block manager entry: built `.js`, or the `.ts` source through tsx. */
function localBlockCommand(): string {
  const here = import.meta.url;
  const entry = fileURLToPath(new URL(`../cli/block${here.endsWith('.ts') ? '.ts' : '.js'}`, here));
  const loader = here.endsWith('.ts') ? ` --import ${JSON.stringify(import.meta.resolve('tsx'))}` : '';
  return `${JSON.stringify(process.execPath)}${loader} ${JSON.stringify(entry)}`;
}

/**
 * The command line that starts a block manager: `launchCmd` or this installation, wrapped in
 * the container runtime if one is configured. The credential travels in the environment
 * (${NATS_ENV}), which apptainer passes through and docker/podman are told to pass with `-e`.
 */
export function blockCommand(options: Pick<ResolvedHighThroughputExecutorOptions, 'launchCmd' | 'container'>, args: string[]): string {
  const { container } = options;
  const base = options.launchCmd ?? (container ? 'parsl-ts block' : localBlockCommand());
  const command = `${base} ${args.join(' ')}`;
  if (!container) return command;
  const extra = container.options.map((o) => shellQuote(o)).join(' ');
  const image = shellQuote(container.image);
  switch (container.runtime) {
    case 'apptainer':
    case 'singularity':
      return `${container.runtime} exec ${extra ? `${extra} ` : ''}${image} ${command}`;
    case 'docker':
    case 'podman':
      // Host networking: the block reaches the NATS server as the node does.
      return `${container.runtime} run --rm --network host -e ${NATS_ENV} ${extra ? `${extra} ` : ''}${image} ${command}`;
  }
}

/**
 * The executor manager of a HighThroughputExecutor: owns the run's NATS connection (and the
 * embedded server), publishes task batches, reads results, registers blocks, and supervises
 * one block actor per block. A lost block's tasks fail that try with `ManagerLost`.
 */
export class HtexManager implements Behaviour<ToHtex> {
  readonly #self: Ref<ToHtex>;
  readonly #dfk: Ref<FromExecutor>;
  readonly #options: ResolvedHighThroughputExecutorOptions;
  readonly #context: ExecutorContext;
  readonly #runId: string;
  readonly #subjects: Subjects;
  #connected: Connected | undefined;
  #startError: unknown;
  #waiting: ExecTask[] = [];
  readonly #blocks = new Map<string, BlockRecord>();
  /** Tries a block has claimed and not reported, by task id. */
  readonly #inFlight = new Map<number, { attempt: number; blockId: string; seq: number | undefined }>();
  /** Tries published and not reported, by task id: the work the strategy scales for. */
  readonly #outstanding = new Map<number, number>();
  /** Blocks in a row that were lost before they registered. */
  #startFailures = 0;
  /** Set once blocks keep failing to start: no more blocks are submitted, tasks fail with it. */
  #scalingError: BlockStartError | undefined;
  #nextBlock = 0;
  #directTurn = 0;
  readonly #poller: StatusPoller;
  #ticker: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(self: Ref<ToHtex>, dfk: Ref<FromExecutor>, options: ResolvedHighThroughputExecutorOptions, context: ExecutorContext) {
    htexManagers.set(self, this);
    this.#self = self;
    this.#dfk = dfk;
    this.#options = options;
    this.#context = context;
    this.#poller = new StatusPoller(options.provider);
    this.#runId = randomBytes(6).toString('hex');
    this.#subjects = subjectsFor(this.#runId, options.label);
    start(this.#runId, this.#subjects, options, self).then(
      (connected) => send(self, { type: 'started', connected }),
      (error: unknown) => send(self, { type: 'start-failed', error }),
    );
  }

  /** Blocks that are submitted or registered and not lost. */
  get liveBlocks(): number {
    let n = 0;
    for (const block of this.#blocks.values()) if (block.live) n++;
    return n;
  }

  receive(msg: ToHtex): void | Promise<void> {
    switch (msg.type) {
      case 'started':
        return this.#started(msg.connected);
      case 'start-failed':
        this.#startError = msg.error;
        this.#fail(this.#waiting.splice(0), msg.error);
        return;
      case 'launch':
        if (this.#startError) return this.#fail(msg.tasks, this.#startError);
        if (this.#scalingError) return this.#fail(msg.tasks, this.#scalingError);
        if (!this.#connected) {
          this.#waiting.push(...msg.tasks);
          return;
        }
        return this.#publish(msg.tasks);
      case 'cancel':
        return this.#cancel(msg.taskId, msg.attempt);
      case 'report':
        return this.#report(msg.report, msg.ack);
      case 'register':
        return this.#register(msg.registration, msg.respond);
      case 'heartbeat': {
        const block = this.#blocks.get(msg.blockId);
        if (!block) return;
        if (msg.workers) block.samples = msg.workers;
        if (msg.inFlight > 0) block.idleSince = undefined;
        else block.idleSince ??= Date.now();
        send(block.ref, { type: 'heartbeat' });
        return;
      }
      case 'block-registered':
        this.#startFailures = 0;
        return;
      case 'direct-accepted':
        for (const { taskId, attempt } of msg.tasks) {
          // Unless its result came first.
          if (this.#outstanding.get(taskId) === attempt) this.#inFlight.set(taskId, { attempt, blockId: msg.blockId, seq: undefined });
        }
        return;
      case 'snapshot-request':
        send(msg.replyTo, { type: 'snapshot', snapshot: this.#snapshot() });
        return;
      case 'scale':
        return this.#scale(msg.decision);
      case 'block-lost':
        return this.#blockLost(msg.blockId, msg.reason, msg.graceful ?? false);
      case 'tick':
        this.#connected?.nc.publish(this.#subjects.dfkHeartbeat, encodeJson({ at: Date.now() }));
        return;
      case 'shutdown':
        return this.#shutdown().finally(msg.done);
    }
  }

  /** The blocks started so far. */
  blocks(): BlockInfo[] {
    return [...this.#blocks].map(([blockId, b]) => ({ blockId, live: b.live, workers: b.workers, host: b.host, pid: b.pid, samples: b.samples }));
  }

  /** Connection options blocks are given (the embedded server's URL and credential included). */
  get blockConnection(): NatsConnectionOptions | undefined {
    return this.#connected?.blockConnection;
  }

  /** Subjects and stream names of this executor's run. */
  get subjects(): Subjects {
    return this.#subjects;
  }

  /** A block actor crashed: treat its block as lost. */
  blockActorCrashed(child: Ref<unknown>, error: Error | undefined): void {
    const name = (child as { name?: string }).name ?? '';
    const blockId = name.replace(/^block-/, '');
    send(this.#self, { type: 'block-lost', blockId, reason: `its actor crashed: ${error?.message ?? 'unknown error'}` });
  }

  #started(connected: Connected): void {
    this.#connected = connected;
    if (this.#stopping) return;
    this.#ticker = setInterval(() => send(this.#self, { type: 'tick' }), this.#options.heartbeatPeriod);
    this.#ticker.unref();
    connected.nc.publish(this.#subjects.dfkHeartbeat, encodeJson({ at: Date.now() }));
    const { initBlocks, minBlocks, maxBlocks, parallelism } = this.#options.provider.options;
    for (let i = 0; i < initBlocks; i++) this.#startBlock();
    if (this.#context.strategy === 'simple') {
      spawnStrategy(this.#self, {
        manager: this.#self as Ref<FromStrategy>,
        policy: { minBlocks, maxBlocks, parallelism, maxIdleTimeMs: this.#context.maxIdleTimeMs },
        periodMs: this.#context.strategyPeriodMs,
      });
    }
    const waiting = this.#waiting.splice(0);
    if (waiting.length > 0) this.#publish(waiting);
  }

  #startBlock(): void {
    const blockId = String(this.#nextBlock++);
    const options = this.#options;
    const args = [
      `--run ${this.#runId}`,
      `--label ${JSON.stringify(options.label)}`,
      `--block-id ${blockId}`,
      `--cores-per-worker ${options.coresPerWorker}`,
      `--prefetch ${options.prefetchCapacity}`,
      `--heartbeat-period ${options.heartbeatPeriod}`,
      `--heartbeat-threshold ${options.heartbeatThreshold}`,
    ];
    if (options.maxWorkersPerNode !== undefined) args.push(`--max-workers ${options.maxWorkersPerNode}`);
    const ref = spawnBlock(this.#self, {
      blockId,
      provider: options.provider,
      poller: this.#poller,
      manager: this.#self as Ref<FromBlockActor>,
      command: blockCommand(options, args),
      env: { [NATS_ENV]: JSON.stringify(this.#connected!.blockConnection) },
      tasksPerNode: 1,
      heartbeatPeriodMs: options.heartbeatPeriod,
      heartbeatThresholdMs: options.heartbeatThreshold,
    });
    this.#blocks.set(blockId, { ref, workers: 0, live: true, registered: false, idleSince: undefined });
  }

  #snapshot(): ScalingSnapshot {
    const blocks: ScalingSnapshot['blocks'] = [];
    let registeredSlots = 0;
    let registered = 0;
    for (const [blockId, block] of this.#blocks) {
      if (!block.live) continue;
      blocks.push({ blockId, registered: block.registered, idleSince: block.registered ? block.idleSince : undefined });
      if (block.registered) {
        registered++;
        registeredSlots += block.workers;
      }
    }
    const guess = this.#options.maxWorkersPerNode ?? 1;
    const slotsPerBlock = registered > 0 ? registeredSlots / registered : guess * this.#options.provider.options.nodesPerBlock;
    return { outstandingTasks: this.#outstanding.size, blocks, slotsPerBlock, now: Date.now() };
  }

  #scale(decision: ScalingDecision): void {
    if (this.#stopping || !this.#connected || this.#scalingError) return;
    const room = this.#options.provider.options.maxBlocks - this.liveBlocks;
    for (let i = 0; i < Math.min(decision.scaleOut, room); i++) this.#startBlock();
    for (const blockId of decision.scaleIn) {
      const block = this.#blocks.get(blockId);
      if (!block?.live) continue;
      block.live = false;
      // Drained, it finishes what it holds and exits; cancelled after drainPeriod if it has not.
      this.#connected.nc.publish(this.#subjects.blockControl(blockId), encodeJson({ type: 'drain' }));
      setTimeout(() => send(block.ref, { type: 'cancel', done: () => {} }), this.#options.drainPeriod).unref();
    }
  }

  #register(registration: Registration, respond: (reply: RegistrationReply) => void): void {
    if (registration.protocolVersion !== PROTOCOL_VERSION || registration.packageVersion !== PACKAGE_VERSION) {
      const error =
        `version mismatch: the DFK runs parsl-ts ${PACKAGE_VERSION} (protocol ${PROTOCOL_VERSION}), block ` +
        `${registration.blockId} on ${registration.host} runs parsl-ts ${registration.packageVersion} ` +
        `(protocol ${registration.protocolVersion}); install the same version on both sides`;
      process.emitWarning(error, { code: 'PARSL_TS_VERSION_MISMATCH' });
      respond({ ok: false, error });
      const block = this.#blocks.get(registration.blockId);
      if (block) send(block.ref, { type: 'refused', reason: error });
      return;
    }
    const block = this.#blocks.get(registration.blockId);
    if (block) {
      block.workers = registration.workers;
      block.registered = true;
      block.idleSince = Date.now();
      block.host = registration.host;
      block.pid = registration.pid;
      send(block.ref, { type: 'registered', workers: registration.workers });
    }
    respond({ ok: true, heartbeatPeriodMs: this.#options.heartbeatPeriod, heartbeatThresholdMs: this.#options.heartbeatThreshold });
  }

  #publish(tasks: ExecTask[]): void {
    const ready: WireTask[] = [];
    const functions = new Map<number, FunctionDef>();
    const refused: TaskOutcome[] = [];
    for (const task of tasks) {
      const encoded = toPoolTask(task);
      if ('wire' in encoded) {
        ready.push(encoded.wire);
        functions.set(encoded.fn.id, encoded.fn);
      } else {
        refused.push(encoded);
      }
    }
    if (refused.length > 0) send(this.#dfk, { type: 'results', outcomes: refused });
    if (ready.length === 0) return;
    for (const task of ready) this.#outstanding.set(task.taskId, task.attempt);
    // Many small messages spread a short queue over blocks; large ones carry a flood cheaply.
    let workers = 0;
    for (const block of this.#blocks.values()) if (block.live) workers += block.workers;
    const size = Math.max(1, Math.min(this.#options.maxTasksPerMessage, Math.ceil(ready.length / (8 * Math.max(1, workers)))));
    for (let i = 0; i < ready.length; i += size) {
      const chunk = ready.slice(i, i + size);
      const needed = new Set(chunk.map((t) => t.fnId));
      const batch: TaskBatchMessage = {
        v: PROTOCOL_VERSION,
        kind: 'tasks',
        functions: [...needed].map((id) => functions.get(id)!),
        tasks: chunk,
      };
      const msgID = `${chunk[0]!.taskId}.${chunk[0]!.attempt}.${chunk.length}`;
      const target = chunk.length <= DIRECT_MAX_TASKS ? this.#nextDirectBlock() : undefined;
      if (target === undefined) void this.#store(batch, msgID);
      else void this.#sendDirect(target, batch, msgID);
    }
  }

  /** Registered blocks in turn, for batches sent straight to a block. */
  #nextDirectBlock(): string | undefined {
    const registered = [...this.#blocks].filter(([, b]) => b.live && b.registered).map(([id]) => id);
    if (registered.length === 0) return undefined;
    return registered[this.#directTurn++ % registered.length];
  }

  /**
   * A small batch goes straight to a block, skipping the work queue's store (a chain of
   * dependent tasks is a stream of one-task batches); a busy, slow or lost block sends it to
   * the work queue instead. A reply lost after the block took the batch could let it run
   * twice; the DFK then uses the first result.
   */
  async #sendDirect(blockId: string, batch: TaskBatchMessage, msgID: string): Promise<void> {
    try {
      const reply = await this.#connected!.nc.request(this.#subjects.blockTasks(blockId), encodeBinary(batch), { timeout: DIRECT_TIMEOUT_MS });
      if (JSON.parse(new TextDecoder().decode(reply.data)) === DIRECT_ACCEPTED) {
        const tasks = batch.tasks.map(({ taskId, attempt }) => ({ taskId, attempt }));
        send(this.#self, { type: 'direct-accepted', blockId, tasks });
        return;
      }
    } catch {
      // No answer: the work queue will do.
    }
    await this.#store(batch, msgID);
  }

  /** Publishes a batch to the work queue until JetStream has stored it. */
  async #store(batch: TaskBatchMessage, msgID: string): Promise<void> {
    const data = encodeBinary(batch);
    for (let attempt = 1; !this.#stopping; attempt++) {
      try {
        await this.#connected!.js.publish(this.#subjects.tasks, data, { msgID: `${this.#runId}.${msgID}`, timeout: 5_000 });
        return;
      } catch (error) {
        if (attempt === 1 || attempt % 20 === 0) {
          process.emitWarning(`storing a task batch not acknowledged (${(error as Error).message}); retrying`);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * attempt)));
      }
    }
  }

  // ---- cancel ------------------------------------------------------------------------------

  /**
   * Stops a try: one not yet published is dropped; one a block holds is cancelled there (off
   * its queue, or stopped on its worker) by a control message. A try still in the work queue
   * is unknown to every block: each live block is told, and skips it if it pulls it later
   * (a block that registers after that would run it; its result is ignored).
   */
  #cancel(taskId: number, attempt: number): void {
    const waiting = this.#waiting.findIndex((t) => t.taskId === taskId && t.attempt === attempt);
    if (waiting >= 0) {
      this.#waiting.splice(waiting, 1);
      return;
    }
    if (this.#outstanding.get(taskId) !== attempt || !this.#connected) return;
    this.#outstanding.delete(taskId);
    const held = this.#inFlight.get(taskId);
    let blocks: string[];
    if (held?.attempt === attempt) {
      this.#inFlight.delete(taskId);
      blocks = [held.blockId];
    } else {
      blocks = [...this.#blocks].filter(([, b]) => b.live && b.registered).map(([blockId]) => blockId);
    }
    const command = encodeJson({ type: 'cancel', taskId, attempt });
    for (const blockId of blocks) this.#connected.nc.publish(this.#subjects.blockControl(blockId), command);
  }

  #report(report: BlockReport, ack: () => void): void {
    ack();
    switch (report.kind) {
      case 'claimed':
        for (const { taskId, attempt } of report.tasks) {
          this.#inFlight.set(taskId, { attempt, blockId: report.blockId, seq: report.seq });
        }
        return;
      case 'running':
        send(this.#dfk, { type: 'running', taskId: report.taskId, attempt: report.attempt });
        return;
      case 'results': {
        for (const outcome of report.outcomes) {
          const held = this.#inFlight.get(outcome.taskId);
          if (held && held.attempt === outcome.attempt) this.#inFlight.delete(outcome.taskId);
          if (this.#outstanding.get(outcome.taskId) === outcome.attempt) this.#outstanding.delete(outcome.taskId);
        }
        send(this.#dfk, { type: 'results', outcomes: report.outcomes.map(fromWire) });
        return;
      }
    }
  }

  #blockLost(blockId: string, reason: string, graceful: boolean): void {
    const block = this.#blocks.get(blockId);
    if (!block || !block.live) return;
    block.live = false;
    if (!graceful) process.emitWarning(`block ${blockId} of executor '${this.#options.label}' is lost: ${reason}`, { code: 'PARSL_TS_BLOCK_LOST' });
    if (!block.registered && ++this.#startFailures >= MAX_START_FAILURES && !this.#scalingError) {
      this.#stopScaling(new BlockStartError(this.#options.label, this.#startFailures, reason));
    }
    const outcomes: TaskOutcome[] = [];
    const withdrawn = new Set<number | undefined>();
    for (const [taskId, held] of this.#inFlight) {
      if (held.blockId !== blockId) continue;
      this.#inFlight.delete(taskId);
      withdrawn.add(held.seq);
      outcomes.push({ taskId, attempt: held.attempt, ok: false, error: new ManagerLost(blockId, reason) });
      if (this.#outstanding.get(taskId) === held.attempt) this.#outstanding.delete(taskId);
    }
    // Its batches would otherwise come back to another block when their ack wait ends.
    for (const seq of withdrawn) {
      if (seq !== undefined) void this.#connected?.jsm.streams.deleteMessage(this.#subjects.taskStream, seq).catch(() => {});
    }
    if (outcomes.length > 0) send(this.#dfk, { type: 'results', outcomes });
  }

  /** Blocks keep failing to start: stop submitting, and fail what waits rather than leave it hanging. */
  #stopScaling(error: BlockStartError): void {
    this.#scalingError = error;
    process.emitWarning(error.message, { code: 'PARSL_TS_SCALING_STOPPED' });
    const outcomes: TaskOutcome[] = [...this.#outstanding].map(([taskId, attempt]) => ({ taskId, attempt, ok: false, error }));
    this.#outstanding.clear();
    this.#inFlight.clear();
    void this.#connected?.jsm.streams.purge(this.#subjects.taskStream).catch(() => {});
    if (outcomes.length > 0) send(this.#dfk, { type: 'results', outcomes });
  }

  #fail(tasks: ExecTask[], error: unknown): void {
    if (tasks.length === 0) return;
    const outcomes: TaskOutcome[] = tasks.map((t) => ({ taskId: t.taskId, attempt: t.attempt, ok: false, error }));
    send(this.#dfk, { type: 'results', outcomes });
  }

  async #shutdown(): Promise<void> {
    this.#stopping = true;
    if (this.#ticker) clearInterval(this.#ticker);
    const connected = this.#connected;
    for (const blockId of this.#blocks.keys()) {
      connected?.nc.publish(this.#subjects.blockControl(blockId), encodeJson({ type: 'shutdown' }));
    }
    await Promise.all(
      [...this.#blocks.values()].map((block) => new Promise<void>((done) => send(block.ref, { type: 'cancel', done }))),
    );
    if (!connected) return;
    connected.stopConsuming();
    for (const sub of connected.subscriptions) sub.unsubscribe();
    if (!connected.server) {
      // On a shared server, leave nothing of this run behind.
      await connected.jsm.streams.delete(this.#subjects.taskStream).catch(() => false);
      await connected.jsm.streams.delete(this.#subjects.resultStream).catch(() => false);
    }
    await connected.nc.close();
    await connected.server?.stop();
  }

  stopped(): void {
    if (this.#ticker) clearInterval(this.#ticker);
  }
}

/** Starts (or reaches) the NATS server, creates the run's streams and subscriptions. */
async function start(
  runId: string,
  subjects: Subjects,
  options: ResolvedHighThroughputExecutorOptions,
  self: Ref<ToHtex>,
): Promise<Connected> {
  let server: NatsServer | undefined;
  let connection: NatsConnectionOptions;
  if (options.nats.servers === undefined) {
    // A credential for this run only: whoever can publish tasks can run code on the workers.
    const password = randomBytes(24).toString('base64url');
    server = await NatsServer.start({ auth: { user: 'parsl', password } });
    connection = { servers: [server.url], user: 'parsl', password };
  } else {
    connection = { ...options.nats, servers: options.nats.servers };
  }
  try {
    const nc = await connectNats(connection, `parsl-ts dfk ${runId} ${options.label}`);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: subjects.taskStream,
      subjects: [subjects.tasks],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: 120_000_000_000,
    });
    await jsm.streams.add({
      name: subjects.resultStream,
      subjects: [subjects.results],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: 120_000_000_000,
    });
    await jsm.consumers.add(subjects.taskStream, {
      durable_name: BLOCK_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      ack_wait: TASK_ACK_WAIT_MS * 1_000_000,
      max_ack_pending: 100_000,
      max_waiting: 4096,
    });
    await jsm.consumers.add(subjects.resultStream, {
      durable_name: DFK_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: 100_000,
    });
    const register = nc.subscribe(subjects.register, {
      callback: (error, msg) => {
        if (error) return;
        try {
          const registration = decodeJson(msg.data, registrationSchema, 'block registration');
          send(self, { type: 'register', registration, respond: (reply) => msg.respond(encodeJson(reply)) });
        } catch (e) {
          process.emitWarning(`rejected a block registration: ${(e as Error).message}`);
          msg.respond(encodeJson({ ok: false, error: (e as Error).message }));
        }
      },
    });
    const directResults = nc.subscribe(subjects.directResults, {
      callback: (error, msg) => {
        if (error) return;
        try {
          const report = decodeBinary(msg.data, blockReportSchema, 'direct block report');
          // Answered once the manager has taken it: only then may the block acknowledge its batch.
          send(self, { type: 'report', report, ack: () => msg.respond(OK) });
        } catch (e) {
          process.emitWarning(`rejected ${(e as Error).message}`);
        }
      },
    });
    const heartbeats = nc.subscribe(subjects.allBlockHeartbeats, {
      callback: (error, msg) => {
        if (error) return;
        try {
          const beat = decodeJson(msg.data, blockHeartbeatSchema, 'block heartbeat');
          send(self, { type: 'heartbeat', blockId: beat.blockId, inFlight: beat.inFlight, workers: beat.workers });
        } catch (e) {
          process.emitWarning(`rejected a block heartbeat: ${(e as Error).message}`);
        }
      },
    });
    const consumer = await js.consumers.get(subjects.resultStream, DFK_CONSUMER);
    const messages = await consumer.consume({ max_messages: 1024 });
    releaseProcessHold(nc, messages);
    void (async () => {
      for await (const msg of messages) {
        try {
          send(self, { type: 'report', report: decodeBinary(msg.data, blockReportSchema, `block report #${msg.seq}`), ack: () => msg.ack() });
        } catch (e) {
          process.emitWarning(`rejected ${(e as Error).message}`);
          msg.term();
        }
      }
    })();
    return {
      nc,
      js,
      jsm,
      server,
      blockConnection: connection,
      subscriptions: [register, directResults, heartbeats],
      stopConsuming: () => void messages.close(),
    };
  } catch (error) {
    await server?.stop();
    throw error;
  }
}



/** Spawns the executor manager of a `HighThroughputExecutor` under the DFK supervisor. */
export function spawnHtexManager(
  parent: Ref<unknown>,
  dfk: Ref<FromExecutor>,
  options: ResolvedHighThroughputExecutorOptions,
  context: ExecutorContext,
): Ref<ToExecutor> {
  return spawnBehaviour<ToHtex, HtexManager>(parent, options.label, (ctx) => new HtexManager(ctx.self, dfk, options, context), {
    onChildCrash: (child, error, ctx) => {
      htexManagers.get(ctx.self)?.blockActorCrashed(child, error);
      return ctx.resetChild as symbol;
    },
  }) as Ref<ToExecutor>;
}

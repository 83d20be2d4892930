import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { send, type Behaviour, type Ref } from './actor.ts';
import type { ExecTask, FromExecutor, TaskOutcome } from './messages.ts';
import { BlockStartError, ManagerLost } from '../common/errors.ts';
import { NATS_ENV, type NatsConnectionOptions } from '../nats/connection.ts';
import { encodeJson, subjectsFor, type BlockReport, type Registration, type RegistrationReply, type Subjects, type WorkerSampleMessage } from '../nats/protocol.ts';
import type { BlockInfo, ToHtex } from './htex/messages.ts';
import { fromWire } from './task-encoding.ts';
import { spawnBlock, type FromBlockActor, type ToBlockActor } from './block.ts';
import { StatusPoller } from './htex/status-poller.ts';
import { BlockLife, scalingSnapshot, versionMismatch } from './htex/block-phase.ts';
import { blockArguments, blockCommand } from './htex/block-command.ts';
import { startNats, stopNats, type Connected } from './htex/nats-setup.ts';
import { batchesOf, Dispatcher, DIRECT_MAX_TASKS, encodeTasks } from './htex/dispatch.ts';
import { TryLedger } from './htex/tries.ts';
import { SiteLink } from './htex/site-link.ts';
import { HtexMonitoring } from './htex/monitoring.ts';
import { Adoption, nextBlockNumber, takeRunState, type HtexRunState } from './htex/adopt.ts';
import { queuesEmpty, saveRunState } from './htex/adopt-nats.ts';
import type { ResolvedHighThroughputExecutorOptions } from '../executors/htex.ts';
import type { ExecutorContext } from './executor-managers.ts';
import { spawnStrategy, type FromStrategy, type ScalingDecision, type ScalingSnapshot } from './strategy.ts';

export { blockCommand } from './htex/block-command.ts';

/** Blocks that fail to start this many times in a row stop the scaling of their executor. */
const MAX_START_FAILURES = 3;
/** A block actor that crashes this many times is stopped (its job cancelled) and its block lost. */
const MAX_BLOCK_ACTOR_CRASHES = 3;

export type { BlockInfo, ToHtex } from './htex/messages.ts';

/** State of the managers, by actor reference, for supervision callbacks and tests. */
export const htexManagers = new WeakMap<Ref<unknown>, HtexManager>();

/**
 * The executor manager of a HighThroughputExecutor: owns the run's NATS connection (and the
 * embedded server), publishes task batches, reads results, registers blocks, and supervises
 * one block actor per block. A lost block's tasks fail that try with `ManagerLost`.
 *
 * Started, it starts NATS and its blocks; stopped (or restarted by the DFK supervisor after a
 * crash), it cancels every block's job, ends its retries and closes NATS and the embedded
 * server, so a restart leaves nothing of the previous run behind. The DFK launches again what
 * the crashed manager held.
 */
export class HtexManager implements Behaviour<ToHtex> {
  readonly #self: Ref<ToHtex>;
  readonly #dfk: Ref<FromExecutor>;
  readonly #options: ResolvedHighThroughputExecutorOptions;
  readonly #context: ExecutorContext;
  readonly #runId: string;
  readonly #subjects: Subjects;
  /** Aborted when this state stops: ends every retry and every late callback of this run. */
  readonly #abort = new AbortController();
  #starting: Promise<Connected | undefined> = Promise.resolve(undefined);
  #connected: Connected | undefined;
  #dispatcher: Dispatcher | undefined;
  #startError: unknown;
  #waiting: ExecTask[] = [];
  readonly #blocks = new Map<string, { ref: Ref<ToBlockActor>; life: BlockLife; crashes: number; samples?: WorkerSampleMessage[] | undefined }>();
  readonly #tries = new TryLedger();
  /** Blocks in a row that were lost before they registered. */
  #startFailures = 0;
  /** Set once blocks keep failing to start: no more blocks are submitted, tasks fail with it. */
  #scalingError: BlockStartError | undefined;
  #nextBlock = 0;
  #directTurn = 0;
  readonly #poller: StatusPoller;
  #ticker: NodeJS.Timeout | undefined;
  readonly #drainTimers = new Set<NodeJS.Timeout>();
  #released: Promise<void> | undefined;
  #strategyTicks = 0;
  /** Capacity and, for a site, its reach, told to the DFK's placement. */
  #link: SiteLink | undefined;
  /** Records blocks, nodes, where tries run and resource samples, when monitoring is on. */
  readonly #monitoring: HtexMonitoring | undefined;
  /** Where the embedded server keeps its store, and this run's adoption files (htex/adopt.ts). */
  readonly #storeDir: string;
  /** What the driver before left, in a resumed run. */
  readonly #resumed: HtexRunState | undefined;
  readonly #adoption: Adoption;
  /** Every block id of the run directory, earlier drivers' included. */
  readonly #allBlocks: string[];

  constructor(self: Ref<ToHtex>, dfk: Ref<FromExecutor>, options: ResolvedHighThroughputExecutorOptions, context: ExecutorContext) {
    this.#self = self;
    this.#dfk = dfk;
    this.#options = options;
    this.#context = context;
    this.#poller = new StatusPoller(options.provider);
    this.#storeDir = join(context.run.nats, options.label);
    this.#resumed = takeRunState(context, this.#storeDir);
    this.#allBlocks = [...(this.#resumed?.blocks ?? [])];
    this.#nextBlock = nextBlockNumber(this.#allBlocks);
    this.#adoption = new Adoption(this.#storeDir, this.#resumed !== undefined, this.#allBlocks, options.heartbeatThreshold);
    // A resumed run keeps its run id: the blocks that outlived the driver before use its subjects.
    this.#runId = this.#resumed?.runId ?? randomBytes(6).toString('hex');
    this.#subjects = subjectsFor(this.#runId, options.label);
    this.#monitoring = context.monitoring && new HtexMonitoring(context.monitoring, options.label);
  }

  started(): void {
    htexManagers.set(this.#self, this);
    const self = this.#self;
    const run = this.#runId;
    this.#starting = startNats(run, this.#subjects, this.#options, {
      register: (registration, respond) => send(self, { type: 'register', run, registration, respond }),
      report: (report, ack) => send(self, { type: 'report', run, report, ack }),
      heartbeat: (blockId, inFlight, workers) => send(self, { type: 'heartbeat', run, blockId, inFlight, workers }),
      wanted: (blockId, tries, respond) => send(self, { type: 'wanted', run, blockId, tries, respond }),
    }, this.#storeDir, this.#abort.signal, this.#resumed && { ...this.#resumed, pid: this.#resumed.serverPid }).then(
      (connected) => {
        if (!this.#abort.signal.aborted) send(self, { type: 'started', run, connected });
        return connected;
      },
      (error: unknown) => {
        send(self, { type: 'start-failed', run, error });
        return undefined;
      },
    );
    this.#link = new SiteLink({
      label: this.#options.label,
      site: this.#options.site,
      dfk: this.#dfk,
      heartbeatPeriodMs: this.#options.heartbeatPeriod,
      heartbeatThresholdMs: this.#options.heartbeatThreshold,
      slots: () => [...this.#blocks.values()].reduce((n, { life }) => n + (life.phase === 'registered' ? life.workers : 0), 0),
      tick: () => send(self, { type: 'site-check', run }),
      // What waited for the lost site fails, and so do the DFK's retries of pinned tasks.
      lost: (error) => this.#fail([...this.#waiting.splice(0), ...this.#tries.clear()], error),
    });
  }

  /** Blocks that are submitted or registered and not lost. */
  get liveBlocks(): number {
    let n = 0;
    for (const { life } of this.#blocks.values()) if (life.live) n++;
    return n;
  }

  receive(msg: ToHtex): void | Promise<void> {
    if ('run' in msg && msg.run !== this.#runId) return; // the previous state's, after a restart
    // Any word from a block is a word from its site.
    if (msg.type === 'heartbeat' || msg.type === 'report' || msg.type === 'register' || msg.type === 'site-contact') this.#link?.contact();
    switch (msg.type) {
      case 'site-check':
        return this.#link?.check(this.#connected?.jsm, () => send(this.#self, { type: 'site-contact', run: this.#runId }));
      case 'site-contact':
        return;
      case 'started':
        return this.#started(msg.connected);
      case 'start-failed':
        this.#startError = msg.error;
        this.#fail(this.#waiting.splice(0), msg.error);
        return;
      case 'launch':
        if (this.#startError) return this.#fail(msg.tasks, this.#startError);
        if (this.#scalingError) return this.#fail(msg.tasks, this.#scalingError);
        if (this.#link?.lostError) return this.#fail(msg.tasks, this.#link.lostError);
        if (!this.#connected) {
          this.#waiting.push(...msg.tasks);
          return;
        }
        return this.#publish(msg.tasks);
      case 'cancel':
        this.#cancel(msg.taskId, msg.attempt);
        return msg.handled();
      case 'report':
        return this.#report(msg.report, msg.ack);
      case 'register':
        return this.#register(msg.registration, msg.respond);
      case 'heartbeat': {
        const block = this.#blocks.get(msg.blockId);
        if (!block) {
          // A block of the driver before: it finishes what it holds, and our blocks take the new work.
          if (this.#adoption.heartbeat(msg.blockId)) this.#connected?.nc.publish(this.#subjects.blockControl(msg.blockId), encodeJson({ type: 'drain' }));
          return;
        }
        if (msg.workers) block.samples = msg.workers;
        if (msg.inFlight > 0) block.life.idleSince = undefined;
        else block.life.idleSince ??= Date.now();
        send(block.ref, { type: 'heartbeat' });
        return;
      }
      case 'block-registered':
        this.#startFailures = 0;
        return this.#link?.tell();
      case 'direct-accepted':
        this.#adoption.held(msg.blockId, msg.tasks);
        return this.#tries.accepted(msg.blockId, msg.tasks);
      case 'wanted':
        return msg.respond(msg.tries.filter((t) => this.#wanted(t.taskId, t.attempt, msg.blockId)));
      case 'adopt-check': {
        const given = this.#adoption.givenUp(msg.queuesEmpty, (blockId) => this.#blocks.get(blockId)?.life.live === true);
        if (given.length > 0) this.#publish(given);
        return;
      }
      case 'snapshot-request':
        this.#strategyTicks++;
        send(msg.replyTo, { type: 'snapshot', snapshot: this.#snapshot() });
        return;
      case 'scale':
        return this.#scale(msg.decision);
      case 'block-lost':
        return this.#blockLost(msg.blockId, msg.reason, msg.graceful ?? false);
      case 'tick':
        this.#connected?.nc.publish(this.#subjects.dfkHeartbeat, encodeJson({ at: Date.now() }));
        if (this.#adoption.adopted > 0) this.#checkAdoptions();
        return;
      case 'shutdown':
        return this.#release().finally(msg.done);
    }
  }

  /** The blocks started so far. */
  blocks(): BlockInfo[] {
    const held = this.#tries.heldByBlock();
    return [...this.#blocks].map(([blockId, { life, samples }]) => ({
      blockId,
      phase: life.phase,
      live: life.live,
      workers: life.workers,
      host: life.host,
      pid: life.pid,
      held: held.get(blockId) ?? 0,
      idleSince: life.idleSince,
      samples,
    }));
  }

  /** How many times the strategy has asked for a snapshot: tests wait on its periods with it. */
  get strategyTicks(): number {
    return this.#strategyTicks;
  }

  /** The actor of one block (for tests that crash it). */
  blockActor(blockId: string): Ref<ToBlockActor> | undefined {
    return this.#blocks.get(blockId)?.ref;
  }

  /** Connection options blocks are given (the embedded server's URL and credential included). */
  get blockConnection(): NatsConnectionOptions | undefined {
    return this.#connected?.blockConnection;
  }

  /** Subjects and stream names of this executor's run. */
  get subjects(): Subjects {
    return this.#subjects;
  }

  /**
   * A block actor crashed: it is restarted and takes over its job. One that keeps crashing
   * is stopped (which cancels its job) and its block is lost.
   */
  blockActorCrashed(child: Ref<unknown>, error: Error | undefined): 'restart' | 'stop' {
    const blockId = ((child as { name?: string }).name ?? '').replace(/^block-/, '');
    const block = this.#blocks.get(blockId);
    if (!block || ++block.crashes < MAX_BLOCK_ACTOR_CRASHES) return 'restart';
    send(this.#self, { type: 'block-lost', blockId, reason: `its actor crashed ${block.crashes} times; last: ${error?.message ?? 'unknown error'}` });
    return 'stop';
  }

  #started(connected: Connected): void {
    this.#connected = connected;
    this.#link?.contact(); // a site's streams were just made there
    this.#monitoring?.subscribe(connected.nc, this.#subjects);
    this.#saveRunState();
    this.#dispatcher = new Dispatcher({
      nc: connected.nc,
      js: connected.js,
      subjects: this.#subjects,
      runId: this.#runId,
      signal: this.#abort.signal,
      accepted: (blockId, tasks) => send(this.#self, { type: 'direct-accepted', run: this.#runId, blockId, tasks }),
    });
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
    const life = new BlockLife(String(this.#nextBlock++));
    this.#monitoring?.watch(life);
    this.#allBlocks.push(life.blockId);
    this.#saveRunState();
    const options = this.#options;
    const ref = spawnBlock(this.#self, {
      life,
      provider: options.provider,
      poller: this.#poller,
      manager: this.#self as Ref<FromBlockActor>,
      command: blockCommand(options, blockArguments(this.#runId, life.blockId, options)),
      env: { [NATS_ENV]: JSON.stringify(this.#connected!.blockConnection) },
      tasksPerNode: 1,
      heartbeatPeriodMs: options.heartbeatPeriod,
      heartbeatThresholdMs: options.heartbeatThreshold,
      scriptDir: this.#context.run.submitScripts,
    });
    this.#blocks.set(life.blockId, { ref, life, crashes: 0 });
  }

  #snapshot(): ScalingSnapshot {
    const lives = [...this.#blocks.values()].map((b) => b.life);
    const guess = (this.#options.maxWorkersPerNode ?? 1) * this.#options.provider.options.nodesPerBlock;
    return scalingSnapshot(lives, this.#tries.outstanding, guess);
  }

  #scale(decision: ScalingDecision): void {
    if (this.#abort.signal.aborted || !this.#connected || this.#scalingError) return;
    const room = this.#options.provider.options.maxBlocks - this.liveBlocks;
    for (let i = 0; i < Math.min(decision.scaleOut, room); i++) this.#startBlock();
    for (const blockId of decision.scaleIn) {
      const block = this.#blocks.get(blockId);
      if (block?.life.phase !== 'registered') continue;
      block.life.to('draining');
      // Drained, it finishes what it holds and exits; cancelled after drainPeriod if it has not.
      this.#connected.nc.publish(this.#subjects.blockControl(blockId), encodeJson({ type: 'drain' }));
      const timer = setTimeout(() => {
        this.#drainTimers.delete(timer);
        send(block.ref, { type: 'cancel', done: () => {} });
      }, this.#options.drainPeriod);
      timer.unref();
      this.#drainTimers.add(timer);
    }
  }

  #register(registration: Registration, respond: (reply: RegistrationReply) => void): void {
    const block = this.#blocks.get(registration.blockId);
    const error = versionMismatch(registration);
    if (error) {
      process.emitWarning(error, { code: 'PARSL_TS_VERSION_MISMATCH' });
      respond({ ok: false, error });
      if (block) send(block.ref, { type: 'refused', reason: error });
      return;
    }
    if (block) {
      const { life } = block;
      if (life.phase === 'submitting' || life.phase === 'pending') {
        life.workers = registration.workers;
        life.idleSince = Date.now();
        life.host = registration.host;
        life.pid = registration.pid;
        life.to('registered');
        this.#link?.tell(); // before anyone can see the block registered: placement counts its workers
        this.#monitoring?.registered(registration);
        send(block.ref, { type: 'registered' });
      } else if (life.phase !== 'registered') {
        // Given up on (lost, cancelled, draining): it must not take work.
        respond({ ok: false, error: `block ${life.blockId} is ${life.phase}` });
        return;
      }
    }
    const resourceMonitoringIntervalMs = this.#monitoring?.resourceIntervalMs;
    respond({
      ok: true,
      heartbeatPeriodMs: this.#options.heartbeatPeriod,
      heartbeatThresholdMs: this.#options.heartbeatThreshold,
      ...(resourceMonitoringIntervalMs === undefined ? {} : { resourceMonitoringIntervalMs }),
    });
  }

  #publish(all: ExecTask[]): void {
    // Calls that a try of the driver before is computing wait for its result instead.
    const { publish: tasks, outcomes: adopted } = this.#adoption.take(all);
    if (adopted.length > 0) send(this.#dfk, { type: 'results', outcomes: adopted.map(fromWire) });
    if (tasks.length === 0) return;
    const { ready, functions, refused } = encodeTasks(tasks);
    if (refused.length > 0) send(this.#dfk, { type: 'results', outcomes: refused });
    if (ready.length === 0) return;
    this.#tries.published(ready);
    let workers = 0;
    for (const { life } of this.#blocks.values()) if (life.live) workers += life.workers;
    for (const batch of batchesOf(ready, functions, workers, this.#options.maxTasksPerMessage)) {
      const target = batch.message.tasks.length <= DIRECT_MAX_TASKS ? this.#nextDirectBlock() : undefined;
      this.#dispatcher!.dispatch(batch, target);
    }
  }

  /** Registered blocks in turn, for batches sent straight to a block. */
  #nextDirectBlock(): string | undefined {
    const registered = [...this.#blocks].filter(([, b]) => b.life.phase === 'registered').map(([id]) => id);
    if (registered.length === 0) return undefined;
    return registered[this.#directTurn++ % registered.length];
  }

  /**
   * Stops a try: one not yet published is dropped; one a block holds is cancelled there (off
   * its queue, or stopped on its worker) by a control message. A try still in the work queue
   * is unknown to every block: each registered block is told, and skips it if it pulls it
   * later (a block that registers after that would run it; its result is ignored).
   */
  #cancel(taskId: number, attempt: number): void {
    const waiting = this.#waiting.findIndex((t) => t.taskId === taskId && t.attempt === attempt);
    if (waiting >= 0) {
      this.#waiting.splice(waiting, 1);
      return;
    }
    if (!this.#connected) return;
    const holder = this.#tries.cancel(taskId, attempt);
    if (holder === false) return;
    const blocks = holder ?? [...this.#blocks].filter(([, b]) => b.life.phase === 'registered').map(([blockId]) => blockId);
    const command = encodeJson({ type: 'cancel', taskId, attempt });
    for (const blockId of blocks) this.#connected.nc.publish(this.#subjects.blockControl(blockId), command);
  }

  #report(report: BlockReport, ack: () => void): void {
    ack();
    switch (report.kind) {
      case 'claimed':
        this.#adoption.held(report.blockId, report.tasks);
        return this.#tries.claimed(report.blockId, report.seq, report.tasks);
      case 'running':
        this.#monitoring?.running(report.blockId, this.#blocks.get(report.blockId)?.life.host, report.taskId, report.attempt);
        send(this.#dfk, { type: 'running', taskId: report.taskId, attempt: report.attempt });
        return;
      case 'results':
      {
        this.#monitoring?.results(report.blockId, this.#blocks.get(report.blockId)?.life.host, report.outcomes);
        this.#tries.reported(report.outcomes);
        const outcomes = this.#adoption.reported(report.outcomes);
        if (outcomes.length > 0) send(this.#dfk, { type: 'results', outcomes: outcomes.map(fromWire) });
        return;
      }
    }
  }

  /**
   * A block is gone (its actor set its phase): the tries it held fail with `ManagerLost`,
   * whatever its phase was (a drained block cancelled at the end of drainPeriod included).
   */
  #blockLost(blockId: string, reason: string, graceful: boolean): void {
    const block = this.#blocks.get(blockId);
    if (!block) return;
    if (!graceful) process.emitWarning(`block ${blockId} of executor '${this.#options.label}' is lost: ${reason}`, { code: 'PARSL_TS_BLOCK_LOST' });
    if (block.life.pid === undefined && ++this.#startFailures >= MAX_START_FAILURES && !this.#scalingError) {
      this.#stopScaling(new BlockStartError(this.#options.label, this.#startFailures, reason));
    }
    const { tries, seqs } = this.#tries.withdraw(blockId);
    // Its batches would otherwise come back to another block when their ack wait ends.
    for (const seq of seqs) void this.#connected?.jsm.streams.deleteMessage(this.#subjects.taskStream, seq).catch(() => {});
    const outcomes: TaskOutcome[] = tries.map((t) => ({ ...t, ok: false, error: new ManagerLost(blockId, reason) }));
    if (outcomes.length > 0) send(this.#dfk, { type: 'results', outcomes });
    this.#link?.tell();
  }

  /** Blocks keep failing to start: stop submitting, and fail what waits rather than leave it hanging. */
  #stopScaling(error: BlockStartError): void {
    this.#scalingError = error;
    process.emitWarning(error.message, { code: 'PARSL_TS_SCALING_STOPPED' });
    const outcomes: TaskOutcome[] = this.#tries.clear().map((t) => ({ ...t, ok: false, error }));
    void this.#connected?.jsm.streams.purge(this.#subjects.taskStream).catch(() => {});
    if (outcomes.length > 0) send(this.#dfk, { type: 'results', outcomes });
  }

  #fail(tasks: Array<{ taskId: number; attempt: number }>, error: unknown): void {
    if (tasks.length === 0) return;
    const outcomes: TaskOutcome[] = tasks.map((t) => ({ taskId: t.taskId, attempt: t.attempt, ok: false, error }));
    send(this.#dfk, { type: 'results', outcomes });
  }

  /**
   * Releases everything this state holds, once (a shutdown, a stop and a restart all come
   * here): retries and timers end, blocks are told to shut down and their jobs cancelled,
   * then NATS and the embedded server are closed. Tasks it held are not failed here: at a
   * shutdown the DFK fails them, after a restart it launches them again.
   */
  #release(): Promise<void> {
    this.#released ??= (async () => {
      this.#abort.abort();
      if (this.#ticker) clearInterval(this.#ticker);
      this.#link?.stop();
      for (const timer of this.#drainTimers) clearTimeout(timer);
      this.#drainTimers.clear();
      const connected = this.#connected ?? (await this.#starting);
      const jobs: string[] = [];
      for (const { life } of this.#blocks.values()) {
        if (life.ended) continue;
        connected?.nc.publish(this.#subjects.blockControl(life.blockId), encodeJson({ type: 'shutdown' }));
        life.to('cancelled');
        if (life.jobId !== undefined) jobs.push(life.jobId);
      }
      // Blocks of earlier drivers of a resumed run (not ours to cancel): told to end too.
      for (const blockId of this.#allBlocks) {
        if (!this.#blocks.has(blockId)) connected?.nc.publish(this.#subjects.blockControl(blockId), encodeJson({ type: 'shutdown' }));
      }
      if (jobs.length > 0) await this.#options.provider.cancel(jobs).catch(() => {});
      this.#monitoring?.close();
      if (connected) await stopNats(connected, this.#subjects);
    })();
    return this.#released;
  }

  /**
   * Whether a try of a batch JetStream handed out again to `asker` is to run there: it is waited
   * for (this driver's, or an earlier one's: adopt.ts), and no other live block is known to hold it.
   */
  #wanted(taskId: number, attempt: number, asker: string): boolean {
    if (this.#tries.isOutstanding(taskId, attempt)) {
      const holder = this.#tries.holder(taskId, attempt);
      return holder === undefined || holder === asker || !this.#blocks.get(holder)?.life.live;
    }
    return this.#adoption.isWanted(taskId, attempt, asker, (blockId) => this.#blocks.get(blockId)?.life.live === true);
  }

  /** What a resumed driver needs to take this run over (htex/adopt.ts). */
  #saveRunState(): void {
    if (this.#connected) saveRunState(this.#storeDir, this.#runId, this.#connected, this.#allBlocks);
  }

  /** Whether anything is left in the work queue or unread in the results stream, for the tries adopted. */
  #checkAdoptions(): void {
    const run = this.#runId;
    queuesEmpty(this.#connected!.jsm, this.#subjects).then((empty) => send(this.#self, { type: 'adopt-check', run, queuesEmpty: empty }), () => {});
  }

  stopped(): Promise<void> {
    return this.#release();
  }
}

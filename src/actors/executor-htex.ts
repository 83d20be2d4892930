import { join } from 'node:path';
import { send, type Behaviour, type Ref } from './actor.ts';
import type { ExecTask, FromExecutor, TaskOutcome } from './messages.ts';
import { NATS_ENV, type NatsConnectionOptions } from '../nats/connection.ts';
import { encodeJson, subjectsFor, type BlockReport, type Subjects } from '../nats/protocol.ts';
import type { BlockInfo, ToHtex } from './htex/messages.ts';
import { fromWire } from './task-encoding.ts';
import { spawnBlock, type FromBlockActor, type ToBlockActor } from './block.ts';
import { StatusPoller } from './htex/status-poller.ts';
import { BlockLife, scalingSnapshot } from './htex/block-phase.ts';
import { blockArguments, blockCommand } from './htex/block-command.ts';
import { startNats, type Connected } from './htex/nats-setup.ts';
import type { ServerWithLogin } from './htex/embedded-server.ts';
import { batchesOf, Dispatcher, DIRECT_MAX_TASKS, encodeTasks } from './htex/dispatch.ts';
import { routeFollowers } from './htex/followers.ts';
import { TryLedger } from './htex/tries.ts';
import { SiteLink } from './htex/site-link.ts';
import { HtexMonitoring } from './htex/monitoring.ts';
import { BlockTable } from './htex/block-table.ts';
import { RunTakeover } from './htex/run-takeover.ts';
import { answerRegistration } from './htex/registration.ts';
import { releaseHoldings } from './htex/release.ts';
import { BlockLoss } from './htex/block-loss.ts';
import { Drains } from './htex/drains.ts';
import { letGo } from './htex/let-go.ts';
import type { ResolvedHighThroughputExecutorOptions } from '../executors/htex.ts';
import type { ExecutorContext } from './executor-managers.ts';
import { spawnStrategy, type FromStrategy, type ScalingDecision, type ScalingSnapshot } from './strategy.ts';
import { startupMark } from '../common/startup-trace.ts';

export { blockCommand } from './htex/block-command.ts';

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
 *
 * This class is the message switch and the wiring; what it does lives in htex/: the block
 * table (block-table.ts), registration (registration.ts), scale-in (drains.ts), lost blocks
 * (block-loss.ts), resumed runs (run-takeover.ts, adopt.ts) and the stop (release.ts).
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
  readonly #early: Promise<ServerWithLogin> | undefined;
  /** How blocks reach NATS, once known (`started`); blocks start only then. */
  #blockConnection: NatsConnectionOptions | undefined;
  #waiting: ExecTask[] = [];
  readonly #blocks = new BlockTable();
  readonly #tries = new TryLedger();
  /** Fails a lost block's tries; stops scaling once blocks keep failing to start. */
  readonly #loss: BlockLoss;
  readonly #poller: StatusPoller;
  #ticker: NodeJS.Timeout | undefined;
  readonly #drains: Drains;
  #released: Promise<void> | undefined;
  #strategyTicks = 0;
  /** Capacity and, for a site, its reach, told to the DFK's placement. */
  #link: SiteLink | undefined;
  /** Records blocks, nodes, where tries run and resource samples, when monitoring is on. */
  readonly #monitoring: HtexMonitoring | undefined;
  /** Where the embedded server keeps its store, and this run's adoption files (htex/adopt.ts). */
  readonly #storeDir: string;
  /** The run state a later driver resumes from, and, in a resumed run, what this one adopts. */
  readonly #takeover: RunTakeover;

  constructor(
    self: Ref<ToHtex>,
    dfk: Ref<FromExecutor>,
    options: ResolvedHighThroughputExecutorOptions,
    context: ExecutorContext,
    /** The embedded server of a new run, started while this module loaded (executor-htex-lazy.ts). */
    early?: Promise<ServerWithLogin>,
  ) {
    this.#early = early;
    this.#self = self;
    this.#dfk = dfk;
    this.#options = options;
    this.#context = context;
    this.#poller = new StatusPoller(options.provider);
    this.#drains = new Drains(options.drainPeriod);
    this.#storeDir = join(context.run.nats, options.label);
    this.#takeover = new RunTakeover(context, this.#storeDir, options.heartbeatThreshold);
    this.#runId = this.#takeover.runId;
    this.#subjects = subjectsFor(this.#runId, options.label);
    this.#monitoring = context.monitoring && new HtexMonitoring(context.monitoring, options.label);
    this.#loss = new BlockLoss({
      label: options.label,
      run: this.#runId,
      self,
      dfk,
      blocks: this.#blocks,
      tries: this.#tries,
      subjects: this.#subjects,
      jsm: () => this.#connected?.jsm,
      tellCapacity: () => this.#link?.tell(),
    });
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
    }, this.#storeDir, this.#abort.signal, this.#takeover.server, this.#early).then(
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
      slots: () => this.#blocks.registeredWorkers,
      tick: () => send(self, { type: 'site-check', run }),
      // What waited for the lost site fails, and so do the DFK's retries of pinned tasks.
      lost: (error) => this.#fail([...this.#waiting.splice(0), ...this.#tries.clear()], error),
    });
  }

  /** Blocks that are submitted or registered and not lost. */
  get liveBlocks(): number {
    return this.#blocks.liveCount;
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
        if (this.#loss.scalingError) return this.#fail(msg.tasks, this.#loss.scalingError);
        if (this.#link?.lostError) return this.#fail(msg.tasks, this.#link.lostError);
        if (!this.#connected) {
          this.#waiting.push(...msg.tasks);
          return;
        }
        startupMark('dfk: publish');
        return this.#publish(msg.tasks);
      case 'cancel':
        this.#cancel(msg.taskId, msg.attempt);
        return msg.handled();
      case 'report':
        startupMark('dfk: report');
        return this.#report(msg.report, msg.ack);
      case 'register':
        startupMark('dfk: registration');
        return answerRegistration(msg.registration, this.#blocks.get(msg.registration.blockId), msg.respond, {
          heartbeatPeriodMs: this.#options.heartbeatPeriod,
          heartbeatThresholdMs: this.#options.heartbeatThreshold,
          resourceMonitoringIntervalMs: this.#monitoring?.resourceIntervalMs,
          tellCapacity: () => this.#link?.tell(),
          recordRegistration: (registration) => this.#monitoring?.registered(registration),
        });
      case 'heartbeat':
        if (this.#blocks.heartbeat(msg.blockId, msg.inFlight, msg.workers)) return;
        return this.#takeover.foreignHeartbeat(msg.blockId, this.#connected, this.#subjects);
      case 'block-registered':
        this.#loss.registered();
        return this.#link?.tell();
      case 'direct-accepted':
        this.#takeover.adoption.held(msg.blockId, msg.tasks);
        return this.#tries.accepted(msg.blockId, msg.tasks);
      case 'wanted':
        return msg.respond(this.#takeover.wanted(msg.tries, msg.blockId, this.#tries, this.#blocks));
      case 'adopt-check': {
        const given = this.#takeover.adoption.givenUp(msg.queuesEmpty, (blockId) => this.#blocks.isLive(blockId));
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
        return this.#loss.lost(msg.blockId, msg.reason, msg.graceful ?? false);
      case 'tick':
        this.#connected?.nc.publish(this.#subjects.dfkHeartbeat, encodeJson({ at: Date.now() }));
        if (this.#takeover.adoption.adopted > 0) this.#checkAdoptions();
        return;
      case 'shutdown':
        return this.#release().finally(msg.done);
    }
  }

  /** The blocks started so far. */
  blocks(): BlockInfo[] {
    return this.#blocks.info(this.#tries.heldByBlock());
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
    return this.#loss.actorCrashed(child, error);
  }

  #started(connected: Connected): void {
    this.#connected = connected;
    this.#link?.contact(); // a site's streams were just made there
    this.#monitoring?.subscribe(connected.nc, this.#subjects);
    this.#takeover.save(connected);
    this.#dispatcher = new Dispatcher({
      nc: connected.nc,
      js: connected.js,
      subjects: this.#subjects,
      runId: this.#runId,
      signal: this.#abort.signal,
      wanted: (tries) => tries.some(({ taskId, attempt }) => this.#tries.isOutstanding(taskId, attempt)),
      accepted: (blockId, tasks) => send(this.#self, { type: 'direct-accepted', run: this.#runId, blockId, tasks }),
    });
    this.#ticker = setInterval(() => send(this.#self, { type: 'tick' }), this.#options.heartbeatPeriod);
    this.#ticker.unref();
    connected.nc.publish(this.#subjects.dfkHeartbeat, encodeJson({ at: Date.now() }));
    const { minBlocks, maxBlocks, parallelism } = this.#options.provider.options;
    this.#startInitBlocks(connected.blockConnection);
    if (this.#context.strategy === 'simple') {
      spawnStrategy(this.#self, {
        manager: this.#self as Ref<FromStrategy>,
        policy: { minBlocks, maxBlocks, parallelism, maxIdleTimeMs: this.#context.maxIdleTimeMs },
        periodMs: this.#context.strategyPeriodMs,
      });
    }
    const waiting = this.#waiting.splice(0);
    if (waiting.length > 0) (startupMark('dfk: publish waiting'), this.#publish(waiting));
  }

  /**
   * Starts the provider's `initBlocks`, once, when NATS is ready (`started`).
   */
  #startInitBlocks(blockConnection: NatsConnectionOptions): void {
    if (this.#blockConnection !== undefined || this.#abort.signal.aborted) return;
    this.#blockConnection = blockConnection;
    for (let i = 0; i < this.#options.provider.options.initBlocks; i++) this.#startBlock();
  }

  #startBlock(): void {
    startupMark('block: submit');
    const life = new BlockLife(this.#takeover.newBlock(this.#connected));
    this.#monitoring?.watch(life);
    const options = this.#options;
    const ref = spawnBlock(this.#self, {
      run: this.#runId,
      life,
      provider: options.provider,
      poller: this.#poller,
      manager: this.#self as Ref<FromBlockActor>,
      command: blockCommand(options, blockArguments(this.#runId, life.blockId, options)),
      env: { [NATS_ENV]: JSON.stringify(this.#blockConnection) },
      tasksPerNode: 1,
      heartbeatPeriodMs: options.heartbeatPeriod,
      heartbeatThresholdMs: options.heartbeatThreshold,
      scriptDir: this.#context.run.submitScripts,
    });
    this.#blocks.add(life, ref);
  }

  #snapshot(): ScalingSnapshot {
    const guess = (this.#options.maxWorkersPerNode ?? 1) * this.#options.provider.options.nodesPerBlock;
    return scalingSnapshot(this.#blocks.lives(), this.#tries.outstanding, guess);
  }

  #scale(decision: ScalingDecision): void {
    if (this.#abort.signal.aborted || !this.#connected || this.#loss.scalingError) return;
    const room = this.#options.provider.options.maxBlocks - this.liveBlocks;
    for (let i = 0; i < Math.min(decision.scaleOut, room); i++) this.#startBlock();
    for (const blockId of decision.scaleIn) {
      const block = this.#blocks.get(blockId);
      if (block?.life.phase === 'registered') this.#drains.drain(block, this.#connected.nc, this.#subjects);
    }
  }

  #publish(all: ExecTask[]): void {
    // Calls that a try of the driver before is computing wait for its result instead.
    const { publish: tasks, outcomes: adopted } = this.#takeover.adoption.take(all);
    if (adopted.length > 0) send(this.#dfk, { type: 'results', outcomes: adopted.map(fromWire) });
    if (tasks.length === 0) return;
    const { ready, functions, refused } = encodeTasks(tasks);
    if (refused.length > 0) send(this.#dfk, { type: 'results', outcomes: refused });
    if (ready.length === 0) return;
    // Tasks sent ahead go with the try they follow, to its block, or back (htex/followers.ts).
    const routes = routeFollowers(ready, (taskId, attempt) => this.#tries.holder(taskId, attempt));
    if (routes && routes.unmet.length > 0) send(this.#dfk, { type: 'results', outcomes: routes.unmet.map(fromWire) });
    for (const [blockId, followers] of routes?.toBlocks ?? []) {
      this.#tries.published(followers);
      for (const batch of batchesOf(followers, functions, 1, Infinity)) this.#dispatcher!.dispatch(batch, blockId);
    }
    const toBatch = routes?.ordered ?? ready;
    this.#tries.published(toBatch);
    // Spread over threads, not slots: a thread with `tasksPerWorker` slots takes a batch whole
    // (10,000 async slots would otherwise make a flood into one-task batches, each a request).
    const threads = this.#blocks.liveWorkers / this.#options.tasksPerWorker;
    for (const batch of batchesOf(toBatch, functions, threads, this.#options.maxTasksPerMessage, routes?.staysWith)) {
      const target = batch.message.tasks.length <= DIRECT_MAX_TASKS ? this.#blocks.nextDirect() : undefined;
      this.#dispatcher!.dispatch(batch, target);
    }
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
    const blocks = holder ?? this.#blocks.registered();
    const command = encodeJson({ type: 'cancel', taskId, attempt });
    for (const blockId of blocks) this.#connected.nc.publish(this.#subjects.blockControl(blockId), command);
  }

  #report(report: BlockReport, ack: () => void): void {
    // Results are let go of only once the DFK has committed them (below).
    if (report.kind !== 'results') ack();
    switch (report.kind) {
      case 'claimed':
        this.#takeover.adoption.held(report.blockId, report.tasks);
        return this.#tries.claimed(report.blockId, report.seq, report.tasks);
      case 'running':
        this.#monitoring?.running(report.blockId, this.#blocks.get(report.blockId)?.life.host, report.taskId, report.attempt);
        send(this.#dfk, { type: 'running', taskId: report.taskId, attempt: report.attempt });
        return;
      case 'results':
      {
        this.#monitoring?.results(report.blockId, this.#blocks.get(report.blockId)?.life.host, report.outcomes);
        this.#tries.reported(report.outcomes);
        const { forward: outcomes, kept } = this.#takeover.adoption.reported(report.outcomes);
        const committed = letGo(this.#takeover.adoption, report.outcomes, kept, ack);
        if (outcomes.length > 0) send(this.#dfk, { type: 'results', outcomes: outcomes.map(fromWire), committed });
        else committed();
        return;
      }
    }
  }

  #fail(tasks: Array<{ taskId: number; attempt: number }>, error: unknown): void {
    if (tasks.length === 0) return;
    const outcomes: TaskOutcome[] = tasks.map((t) => ({ taskId: t.taskId, attempt: t.attempt, ok: false, error }));
    send(this.#dfk, { type: 'results', outcomes });
  }

  /** Releases everything this state holds, once: a shutdown, a stop and a restart all come here (htex/release.ts). */
  #release(): Promise<void> {
    this.#released ??= releaseHoldings({
      abort: this.#abort,
      ticker: this.#ticker,
      drains: this.#drains,
      link: this.#link,
      connected: this.#connected,
      starting: this.#starting,
      subjects: this.#subjects,
      blocks: this.#blocks,
      takeover: this.#takeover,
      provider: this.#options.provider,
      monitoring: this.#monitoring,
    });
    return this.#released;
  }

  /** Whether anything is left in the work queue or unread in the results stream, for the tries adopted. */
  #checkAdoptions(): void {
    const run = this.#runId;
    this.#takeover.check(this.#connected!, this.#subjects, (empty) => send(this.#self, { type: 'adopt-check', run, queuesEmpty: empty }));
  }

  stopped(): Promise<void> {
    return this.#release();
  }
}

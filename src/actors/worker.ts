import { MessageChannel, type MessagePort, type ResourceLimits, type Worker } from 'node:worker_threads';
import type * as Comlink from 'comlink';
import { spawnBehaviour, send, type Behaviour, type Ref } from './actor.ts';
import type { FromWorker, FunctionDef, ToWorker, WireOutcome, WireTask } from '../wire/protocol.ts';
import { comlink, nodeEndpoint } from '../worker/comlink-endpoint.ts';
import { spawnThread } from '../worker/spawn.ts';
import { PHASE_SYNC, RunningSlot } from '../worker/running-slot.ts';
import type { WorkerControl, WorkerSample, WorkerThreadData } from '../worker/main.ts';

/** A task ready for a worker thread: its encoded form and its function. */
export interface PoolTask {
  wire: WireTask;
  fn: FunctionDef;
}

/** Messages a worker actor handles. */
export type ToWorkerActor =
  | { type: 'thread-exit'; generation: number; code: number; reason: string }
  | { type: 'watchdog' }
  /** Stop a try this worker holds (the pool has already taken it off the channel). */
  | { type: 'cancel'; taskId: number; attempt: number }
  /** The grace of a cancel is over: end the thread if the try still runs. */
  | { type: 'cancel-check'; taskId: number; attempt: number }
  /** Memory and busy time of the thread; undefined if it does not answer in time (busy in synchronous code). */
  | { type: 'sample'; reply: (sample: WorkerSample | undefined) => void }
  /** Take back the tries the thread has not started; the pool hears 'worker-gave-back'. */
  | { type: 'give-back' }
  | { type: 'stop'; done: () => void };

/** Messages a worker actor, or its channel, sends to the pool that supervises it. */
export type FromWorkerActor =
  | { type: 'worker-ready'; workerId: string; channel: WorkerChannel }
  | { type: 'worker-results'; workerId: string; channel: WorkerChannel; outcomes: WireOutcome[]; meanTaskMs: number }
  | { type: 'worker-running'; workerId: string; taskId: number; attempt: number }
  /** The tries the thread handed back unstarted (none if it could not answer: it ended). */
  | { type: 'worker-gave-back'; workerId: string; channel: WorkerChannel; tries: Array<{ taskId: number; attempt: number }> };

/**
 * The data plane of one worker thread: batches of tasks out, batches of results back, and
 * the record of what the thread holds. The worker actor makes it and hands it to its pool,
 * so that a task costs no actor message of its own between the pool and the thread; the
 * worker actor keeps the control plane (start, death, walltime, stop).
 */
export class WorkerChannel {
  readonly workerId: string;
  /** Tasks on the thread, by task id (a task has at most one try on a thread at a time). */
  readonly inFlight = new Map<number, PoolTask>();
  readonly #port: MessagePort;
  readonly #knownFunctions = new Set<number>();
  #open = true;
  /** Told when a try is taken back for a cancel: the worker actor rings the thread's bell. */
  onWithdraw: (() => void) | undefined;
  /** Told when a task with a walltime is sent, so that the worker actor watches it. */
  onWalltime: (() => void) | undefined;

  constructor(workerId: string, port: MessagePort, pool: Ref<FromWorkerActor>) {
    this.workerId = workerId;
    this.#port = port;
    port.on('message', (msg: FromWorker) => {
      if (!this.#open) return;
      if (msg.type === 'ready') {
        send(pool, { type: 'worker-ready', workerId, channel: this });
        return;
      }
      if (msg.type === 'running') {
        send(pool, { type: 'worker-running', workerId, taskId: msg.taskId, attempt: msg.attempt });
        return;
      }
      // A try withdrawn (cancelled) has had its outcome reported then; the thread's is dropped.
      const outcomes: WireOutcome[] = [];
      for (const outcome of msg.outcomes) {
        if (this.inFlight.get(outcome.taskId)?.wire.attempt !== outcome.attempt) continue;
        this.inFlight.delete(outcome.taskId);
        outcomes.push(outcome);
      }
      send(pool, { type: 'worker-results', workerId, channel: this, outcomes, meanTaskMs: msg.meanTaskMs });
    });
    // An idle worker must not keep the process alive; the kernel does that while tasks run.
    port.unref();
  }

  get open(): boolean {
    return this.#open;
  }

  /** Sends a batch of tasks to the thread. */
  run(tasks: PoolTask[]): void {
    const functions: FunctionDef[] = [];
    const wire: WireTask[] = new Array(tasks.length);
    let withWalltime = false;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i]!;
      if (!this.#knownFunctions.has(task.fn.id)) {
        this.#knownFunctions.add(task.fn.id);
        functions.push(task.fn);
      }
      this.inFlight.set(task.wire.taskId, task);
      wire[i] = task.wire;
      if (task.wire.walltimeMs !== undefined) withWalltime = true;
    }
    const msg: ToWorker = { type: 'run', functions, tasks: wire };
    this.#port.postMessage(msg);
    if (withWalltime) this.onWalltime?.();
  }

  /** Takes a try back from the thread's record (it is being cancelled); whether it was there. */
  withdraw(taskId: number, attempt: number): boolean {
    if (this.inFlight.get(taskId)?.wire.attempt !== attempt) return false;
    this.inFlight.delete(taskId);
    // At once, not when the worker actor gets its message: the thread must not start this try
    // before it has heard the cancel.
    this.onWithdraw?.();
    return true;
  }

  /** Stops delivering; late messages of a dead thread are dropped. */
  close(): void {
    this.#open = false;
    this.#port.close();
  }
}

/**
 * Thrown by a worker actor whose thread died, so that its supervisor restarts it. Carries the
 * tasks the thread held: `running` was being executed, `queued` had not started, `alsoRunning`
 * may have started (on a thread that runs tries at once, any of those it held).
 */
export class WorkerThreadExit extends Error {
  constructor(
    readonly workerId: string,
    readonly reason: string,
    readonly running: PoolTask | undefined,
    readonly queued: PoolTask[],
    readonly timedOut: boolean,
    /** Ended on purpose, to stop a cancelled synchronous task: not a crash. */
    readonly cancelled = false,
    readonly alsoRunning: PoolTask[] = [],
  ) {
    super(`worker ${workerId} thread exited: ${reason}`);
    this.name = 'WorkerThreadExit';
  }
}

export interface WorkerActorOptions {
  workerId: string;
  pool: Ref<FromWorkerActor>;
  resourceLimits?: ResourceLimits | undefined;
  /** How long the thread polls for more work once idle (see IDLE_SPIN_MS in task-runner.ts). */
  idleSpinMs?: number | undefined;
  /** Tries the thread runs at once (see TaskRunner). @default 1 */
  concurrency?: number | undefined;
}

let generations = 0;

/** How often a worker holding tasks with a walltime checks the one running. */
const WATCHDOG_PERIOD_MS = 100;
/** A synchronous task past its walltime by this much is stopped by terminating its thread. */
const WATCHDOG_GRACE_MS = 250;
/**
 * A cancelled try that still runs this long after its thread was told is stopped by ending
 * the thread: the thread is busy in synchronous code and cannot hear the cancel.
 */
const CANCEL_GRACE_MS = 1_000;
/** How long a thread has to answer a sample request. */
const SAMPLE_TIMEOUT_MS = 1_000;

/**
 * The actor that owns one worker thread: it starts it, hands its channel to the pool, stops
 * a synchronous task that overruns its walltime, and turns the thread's death into a crash
 * that its supervisor answers with a restart.
 */
class WorkerActor implements Behaviour<ToWorkerActor> {
  readonly #id: string;
  readonly #self: Ref<ToWorkerActor>;
  /** Tells this thread's messages from those of the thread it replaced, still in the mailbox. */
  readonly #generation = ++generations;
  readonly #options: WorkerActorOptions;
  readonly #slot = new RunningSlot();
  // Made in started(): a state made for a restart holds nothing until the old one has stopped.
  #thread!: Worker;
  #channel!: WorkerChannel;
  #control!: Comlink.Remote<WorkerControl>;
  #watchdog: NodeJS.Timeout | undefined;
  #timedOut = false;
  #cancelledRun = false;
  #stopping = false;
  #lastError: Error | undefined;

  constructor(self: Ref<ToWorkerActor>, options: WorkerActorOptions) {
    this.#id = options.workerId;
    this.#self = self;
    this.#options = options;
  }

  /** Starts the thread (on a restart, after the previous state's thread was ended). */
  started(): void {
    const options = this.#options;
    const self = this.#self;
    const ports = new MessageChannel();
    const data: WorkerThreadData = { workerId: this.#id, dataPort: ports.port2, slot: this.#slot.buffer, idleSpinMs: options.idleSpinMs, concurrency: options.concurrency };
    this.#thread = spawnThread(data, [ports.port2], options.resourceLimits);
    this.#channel = new WorkerChannel(this.#id, ports.port1, options.pool);
    this.#channel.onWalltime = () => this.#startWatchdog();
    this.#channel.onWithdraw = () => this.#slot.ring();
    const generation = this.#generation;
    this.#thread.on('error', (error) => (this.#lastError = error));
    this.#thread.once('exit', (code) => {
      const reason = this.#lastError ? `${this.#lastError.name}: ${this.#lastError.message}` : `exit code ${code}`;
      send(self, { type: 'thread-exit', generation, code, reason });
    });
    this.#control = comlink().wrap<WorkerControl>(nodeEndpoint(this.#thread));
    // After comlink's listener: adding a 'message' listener refs the thread's port again.
    this.#thread.unref();
    // The channel tells the pool the worker is ready when the thread says its task loop runs
    // (FromWorker 'ready'), not when it is made nor at its 'online' event: a task sent earlier
    // waits in the port while the thread boots (25–50 ms from the built package, up to a second
    // from the sources on a busy machine), and of threads started together the first tasks
    // would as likely go to the slowest while another sits idle. A closed channel (the worker
    // stopping) drops the message.
  }

  receive(msg: ToWorkerActor): void {
    switch (msg.type) {
      case 'watchdog':
        return this.#checkWalltime();
      case 'cancel':
        return this.#cancel(msg.taskId, msg.attempt);
      case 'cancel-check':
        if (this.#isRunning(msg.taskId, msg.attempt)) this.#endForCancel();
        return;
      case 'sample':
        return this.#sample(msg.reply);
      case 'give-back':
        return this.#giveBack();
      case 'thread-exit':
        if (msg.generation === this.#generation) this.#exited(msg.reason);
        return;
      case 'stop':
        this.#stopping = true;
        this.#stopWatchdog();
        this.#channel.close();
        void this.#thread.terminate().finally(() => {
          this.#killChildCommand();
          msg.done();
        });
        return;
    }
  }

  // ---- control plane (comlink) ----------------------------------------------------------

  #isRunning(taskId: number, attempt: number): boolean {
    const current = this.#slot.current();
    return current !== undefined && current.taskId === taskId && current.attempt === attempt;
  }

  /**
   * A try in synchronous code cannot hear anything: its thread is ended and replaced (the
   * tries queued behind it go back to the pool). Otherwise the thread is told through comlink:
   * an awaited try has its signal aborted, a queued one is skipped; if it still runs after a
   * grace period (it was busy in synchronous code after all), the thread is ended.
   */
  #cancel(taskId: number, attempt: number): void {
    // The bell was rung when the pool withdrew the try (WorkerChannel.withdraw).
    if (this.#isRunning(taskId, attempt) && this.#slot.phase() === PHASE_SYNC) return this.#endForCancel();
    this.#control.cancel(taskId, attempt).catch(() => {
      // The thread ended first; its exit settles everything.
    });
    const self = this.#self;
    setTimeout(() => send(self, { type: 'cancel-check', taskId, attempt }), CANCEL_GRACE_MS).unref();
  }

  #endForCancel(): void {
    if (this.#cancelledRun || this.#stopping) return;
    this.#cancelledRun = true;
    void this.#thread.terminate();
  }

  /**
   * Asks the thread for the tries it has not started. The bell makes a thread busy in
   * synchronous code answer before it starts the next one; one that awaits answers at once.
   */
  #giveBack(): void {
    const { pool } = this.#options;
    const channel = this.#channel;
    this.#slot.ring();
    this.#control.giveBack().then(
      (tries) => send(pool, { type: 'worker-gave-back', workerId: this.#id, channel, tries }),
      () => send(pool, { type: 'worker-gave-back', workerId: this.#id, channel, tries: [] }),
    );
  }

  #sample(reply: (sample: WorkerSample | undefined) => void): void {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), SAMPLE_TIMEOUT_MS)));
    void Promise.race([this.#control.sample(), late])
      .catch(() => undefined)
      .then((sample) => {
        clearTimeout(timer);
        reply(sample);
      });
  }

  // ---- walltime --------------------------------------------------------------------------

  #startWatchdog(): void {
    if (this.#watchdog) return;
    this.#watchdog = setInterval(() => send(this.#self, { type: 'watchdog' }), WATCHDOG_PERIOD_MS);
    this.#watchdog.unref();
  }

  #stopWatchdog(): void {
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  #checkWalltime(): void {
    if (this.#channel.inFlight.size === 0) return this.#stopWatchdog();
    const running = this.#slot.current();
    const walltime = running && this.#channel.inFlight.get(running.taskId)?.wire.walltimeMs;
    if (!running || walltime === undefined) return;
    const elapsed = performance.timeOrigin + performance.now() - running.startedAt;
    if (elapsed > walltime + WATCHDOG_GRACE_MS) {
      // A synchronous function cannot be interrupted inside its thread: end the thread.
      this.#timedOut = true;
      void this.#thread.terminate();
    }
  }

  /** A terminated thread cannot clean up: end the command its bash app was running. */
  #killChildCommand(): void {
    const pid = this.#slot.child();
    if (pid <= 0) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  #exited(reason: string): void {
    this.#killChildCommand();
    this.#stopWatchdog();
    this.#channel.close();
    this.#control[comlink().releaseProxy]();
    if (this.#stopping) return;
    const current = this.#slot.current();
    const running = current === undefined ? undefined : this.#channel.inFlight.get(current.taskId);
    if (running) this.#channel.inFlight.delete(running.wire.taskId);
    const why = this.#cancelledRun ? 'ended to stop a cancelled task' : reason;
    const held = [...this.#channel.inFlight.values()];
    // A thread that runs tries at once may have started any of those it held: running one
    // again elsewhere would repeat its side effects, so each fails (and is retried if allowed).
    const concurrent = (this.#options.concurrency ?? 1) > 1;
    throw new WorkerThreadExit(this.#id, why, running, concurrent ? [] : held, this.#timedOut, this.#cancelledRun, concurrent ? held : []);
  }

  stopped(): void {
    this.#stopWatchdog();
    this.#channel.close();
    void this.#thread.terminate().finally(() => this.#killChildCommand());
  }
}

/** Spawns a worker actor (and its thread) under `parent`. */
export function spawnWorker(parent: Ref<unknown>, options: WorkerActorOptions): Ref<ToWorkerActor> {
  return spawnBehaviour<ToWorkerActor, WorkerActor>(parent, options.workerId, (ctx) => new WorkerActor(ctx.self, options));
}

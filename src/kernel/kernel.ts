import { randomUUID } from 'node:crypto';
import type { Ref } from 'nact';
import { send, startActorSystem, stopActor } from '../actors/actor.ts';
import { setCurrentKernel, peekCurrentKernel, type Submitter } from '../apps/current-kernel.ts';
import { spawnDfk, type ToDfk } from '../actors/dfk.ts';
import type { BashSpec, StreamSpec } from '../wire/protocol.ts';
import type { ToExecutor } from '../actors/messages.ts';
import type { AppDefinition } from '../apps/app.ts';
import { AppFuture, DataFuture, type TaskControl } from '../apps/future.ts';
import { Config } from '../config/config.ts';
import { parseDuration } from '../common/validate.ts';
import { ConfigError, IllegalStateError, TaskCancelledError } from '../common/errors.ts';
import { findCallOptions, NO_ARGS } from '../dataflow/arguments.ts';
import type { TaskRecord } from '../dataflow/task.ts';
import { File } from '../staging/file.ts';
import { watchDriverEnd } from './driver-exit.ts';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { startProgress, type RunProgress } from './progress.ts';
import { TaskStateCounts } from '../dataflow/state-counts.ts';
import type { TaskState } from '../apps/task-states.ts';
import { AUTO_LOGNAME, taskLogPath, type RunDir } from '../dataflow/run-dir.ts';
import { TaskIds } from '../dataflow/task-ids.ts';
import { openRun } from './resume.ts';
import { ThreadPoolExecutor } from '../executors/thread-executor.ts';
import { endSpareThreads, prestartWorkerThreads } from '../worker/spawn.ts';
import { isStagingApp, StagingPlanner } from '../dataflow/staging-plan.ts';
import { startupMark } from '../common/startup-trace.ts';

/**
 * Lifecycle of a kernel. One owner: the `DataFlowKernel` facade, through `#moveTo`.
 * - `running`: from `load()`; apps may be called.
 * - `running → closing`: `cleanup()` (also `clear()`, `await using`, SIGINT/SIGTERM); app calls are
 *   refused from here on, and tasks still outstanding fail with `KernelClosedError`.
 * - `closing → closed`: the DFK and its executors stopped.
 *
 * @example
 * ```ts
 * const kernel = load();
 * await kernel.cleanup();
 * const state: KernelState = kernel.state;    // 'closed'
 * ```
 */
export type KernelState = 'running' | 'closing' | 'closed';

const KERNEL_TRANSITIONS: Readonly<Record<KernelState, readonly KernelState[]>> = {
  running: ['closing'],
  closing: ['closed'],
  closed: [],
};

/**
 * The DataFlowKernel: what `load()` starts. App calls come here; the DFK supervisor actor
 * does the rest. The process stays alive while tasks are outstanding and no longer: idle
 * workers never hold it open.
 *
 * @example
 * ```ts
 * const kernel: DataFlowKernel = load();
 * console.log(kernel.state, kernel.runDir);   // 'running' /…/runinfo/000
 * await kernel.cleanup();
 * ```
 */
export class DataFlowKernel implements Submitter, AsyncDisposable {
  /** The config the kernel was loaded with. */
  readonly config: Config;
  /** Unique id of this run. */
  readonly runId: string;
  /** This run's numbered directory (`runinfo/003`) and its folders. */
  readonly run: RunDir;
  /** Task log folders made so far (AUTO_LOGNAME). */
  readonly #logFolders = new Set<string>();
  readonly #counts = new TaskStateCounts();
  readonly #system: Ref<never>;
  readonly #dfk: Ref<ToDfk>;
  readonly #control: TaskControl;
  #state: KernelState = 'running';
  readonly #tids: TaskIds;
  #submissions: TaskRecord[] = [];
  #outstanding = 0;
  #idleWaiters: (() => void)[] = [];
  #keepAlive: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;
  /** Removes the hooks that stop this kernel when its driver ends (driver-exit.ts). */
  #unwatchDriverEnd: () => void;
  #executorRefs: ReadonlyMap<string, Ref<ToExecutor>> = new Map();
  #executorRestarts = 0;
  /** The live progress line (`Config.progress` on a terminal). */
  #progress: RunProgress | undefined;
  /** Stage-in and stage-out tasks of calls with remote files (dataflow/staging-plan.ts). */
  readonly #staging: StagingPlanner;

  constructor(config: Config = new Config()) {
    if (!(config instanceof Config)) {
      throw new ConfigError('load(config)', `expected a Config, got ${typeof config}; write load(new Config({...}))`);
    }
    // A resumed run works in the run directory it resumes, with resume's defaults (resume.ts).
    startupMark('load()');
    ({ config, run: this.run } = openRun(config));
    this.config = config;
    this.runId = randomUUID();
    this.#tids = new TaskIds(this.run);
    // The thread executors' threads boot (25–50 ms each) while the actors start, not after.
    prestartWorkerThreads(threadsToStart(config));
    this.#system = startActorSystem();
    this.#control = { cancel: (future, reason) => this.#cancel(future, reason) };
    this.#staging = new StagingPlanner(config.executors, this.run, (app, args) => this.submit(app, args));
    this.#unwatchDriverEnd = watchDriverEnd(this);
    this.#dfk = spawnDfk(this.#system, 'dfk', config, this.run, {
      counts: this.#counts,
      runId: this.runId,
      taskEnded: () => this.#taskEnded(),
      executorsStarted: (refs) => (this.#executorRefs = refs),
      executorRestarted: () => this.#executorRestarts++,
    });
    this.#progress = startProgress(config, () => this.#counts.snapshot());
  }

  /** The path of this run's directory (`<Config.runDir>/NNN`). */
  get runDir(): string {
    return this.run.path;
  }

  /** How many tasks of this run are in each state (states without tasks left out). */
  get taskStateCounts(): Partial<Record<TaskState, number>> {
    return this.#counts.snapshot();
  }

  /** `running`, then `closing` while `cleanup()` runs, then `closed`. */
  get state(): KernelState {
    return this.#state;
  }

  /** Tasks called and not yet ended. */
  get tasksOutstanding(): number {
    return this.#outstanding;
  }

  /** @internal The executor manager actors, by label (for supervision tests). */
  get executorManagers(): ReadonlyMap<string, Ref<ToExecutor>> {
    return this.#executorRefs;
  }

  /** How many times a crashed executor manager was restarted by the DFK supervisor. */
  get executorRestarts(): number {
    return this.#executorRestarts;
  }

  /** @internal Called by an app call. */
  submit(app: AppDefinition, args: unknown[]): AppFuture<unknown> {
    if (this.#state !== 'running') throw new IllegalStateError(`the DataFlowKernel is not running; current state: ${this.#state}`);
    const kwargsIndex = findCallOptions(args);
    const kwargs = kwargsIndex >= 0 ? (args[kwargsIndex] as Record<string, unknown>) : undefined;
    this.#checkExecutors(app);
    // Files to stage: providers chosen (or the call refused) before any task is made.
    let outputs = outputFiles(kwargs?.outputs);
    const staging = this.#staging.plan(app, args, kwargsIndex, outputs);
    if (staging) outputs = staging.outputs;
    const tid = this.#tids.next();
    const stdout = streamSpec(this.#autoLog(kwargs?.stdout ?? app.options.stdout, tid, app.name, 'stdout'), 'stdout');
    const stderr = streamSpec(this.#autoLog(kwargs?.stderr ?? app.options.stderr, tid, app.name, 'stderr'), 'stderr');
    const walltimeMs = walltimeOf(kwargs?.walltime, app.options.walltime);
    const signal = abortSignalOf(kwargs?.signal);
    const future = new AppFuture<unknown>(tid, app.name, this.#control, {
      stdout: stdout?.path,
      stderr: stderr?.path,
    });
    for (const file of outputs) future.addOutput(new DataFuture(future, file));
    // Stage-in tasks come after the app's own id, as in Parsl; the call waits on them.
    if (staging) args = staging.stageIn();
    const bash: BashSpec | undefined =
      app.kind === 'bash' ? { stdout, stderr, outputs: outputs.map((f) => f.filepath) } : undefined;
    const record: TaskRecord = {
      id: future.tid,
      app,
      future,
      args: args.length === 0 ? NO_ARGS : args,
      kwargsIndex,
      waitingOn: 0,
      attempt: 0,
      failCost: 0,
      executor: undefined,
      memoKey: undefined,
    };
    // Only when set: most calls have none of them, and a field is 8 bytes on each pending task.
    if (walltimeMs !== undefined) record.walltimeMs = walltimeMs;
    if (bash !== undefined) record.bash = bash;
    if (staging !== undefined) record.stagingExecutor = staging.executor;
    this.#counts.add('pending');
    if (this.#submissions.length === 0) queueMicrotask(() => this.#flushSubmissions());
    this.#submissions.push(record);
    if (this.#outstanding++ === 0) this.#holdProcess(true);
    staging?.stageOut(future);
    if (signal) this.#watchAbortSignal(future, signal);
    return future;
  }

  /** `AUTO_LOGNAME` becomes the task's own file under the run directory (its folder made). */
  #autoLog(value: unknown, tid: number, appName: string, stream: 'stdout' | 'stderr'): unknown {
    if (value !== AUTO_LOGNAME) return value;
    const path = taskLogPath(this.run, tid, appName, stream);
    const folder = dirname(path);
    if (!this.#logFolders.has(folder)) {
      mkdirSync(folder, { recursive: true });
      this.#logFolders.add(folder);
    }
    return path;
  }

  /**
   * Writes the results held for the checkpoint now (Parsl's `dfk.checkpoint()`; what
   * `checkpointMode: 'manual'` is for); resolves with how many were written.
   */
  checkpoint(): Promise<number> {
    if (this.#state !== 'running') return Promise.resolve(0);
    this.#flushSubmissions();
    return new Promise((done) => send(this.#dfk, { type: 'checkpoint', done }));
  }

  /** Waits until every task called so far has ended. */
  waitForCurrentTasks(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops the kernel: tasks still outstanding fail with `KernelClosedError`, executors and
   * their workers stop. Safe to call more than once.
   */
  cleanup(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#moveTo('closing');
    this.#closed = (async () => {
      this.#flushSubmissions();
      await new Promise<void>((done) => send(this.#dfk, { type: 'shutdown', done }));
      stopActor(this.#system);
      await endSpareThreads();
      this.#progress?.close();
      this.#unwatchDriverEnd();
      this.#holdProcess(false);
      this.#moveTo('closed');
      if (peekCurrentKernel() === this) setCurrentKernel(undefined);
    })();
    return this.#closed;
  }

  #moveTo(to: KernelState): void {
    if (!KERNEL_TRANSITIONS[this.#state].includes(to)) {
      throw new IllegalStateError(`the DataFlowKernel cannot go from '${this.#state}' to '${to}'`);
    }
    this.#state = to;
  }

  /** `await using dfk = load()` ends the run per `Config.exitMode`. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.config.exitMode === 'skip') return;
    if (this.config.exitMode === 'wait') await this.waitForCurrentTasks();
    await this.cleanup();
  }

  #flushSubmissions(): void {
    if (this.#submissions.length === 0) return;
    const records = this.#submissions;
    this.#submissions = [];
    send(this.#dfk, { type: 'submit', records });
  }

  /**
   * Marks the future (the DFK then ends it only as cancelled, whatever it hears first) and
   * tells the DFK, after the task itself: true is a promise that the task ends cancelled.
   */
  #cancel(future: AppFuture<unknown>, reason: unknown): boolean {
    if (future.done() || future.cancelRequested || this.#state !== 'running') return false;
    // Made here, so that its stack points at the caller of cancel().
    const where = future.state === 'pending' ? 'before launch' : future.state === 'launched' ? 'while queued' : `while ${future.state}`;
    const error = new TaskCancelledError(`task ${future.tid} (${future.appName}) was cancelled ${where}`, reason === undefined ? undefined : { cause: reason });
    future.cancelRequested = { reason, error };
    this.#flushSubmissions();
    send(this.#dfk, { type: 'cancel', taskId: future.tid });
    return true;
  }

  /** The call's `signal` option: aborted already, the call fails at once; later, it cancels the task. */
  #watchAbortSignal(future: AppFuture<unknown>, signal: AbortSignal): void {
    if (signal.aborted) {
      this.#cancel(future, signal.reason);
      return;
    }
    const onAbort = (): void => void this.#cancel(future, signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    future.onSettled(() => signal.removeEventListener('abort', onAbort));
  }

  #taskEnded(): void {
    if (--this.#outstanding > 0) return;
    this.#holdProcess(false);
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Worker threads are unref'd; this timer keeps the process alive while tasks are outstanding. */
  #holdProcess(hold: boolean): void {
    if (hold && !this.#keepAlive) this.#keepAlive = setInterval(() => {}, 1 << 30);
    else if (!hold && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }

  #checkExecutors(app: AppDefinition): void {
    // Stage-in and stage-out tasks run on Parsl's internal executor, which no Config names.
    if (app.options.executors === 'all' || isStagingApp(app)) return;
    for (const label of app.options.executors) {
      if (!this.config.executors.some((e) => e.label === label)) {
        const known = this.config.executors.map((e) => `'${e.label}'`).join(', ');
        throw new ConfigError(`${app.name} options.executors`, `no executor is labelled '${label}'; the config has ${known}`);
      }
    }
  }
}

function streamSpec(value: unknown, name: string): StreamSpec | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return { path: value, mode: 'a' };
  if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string' && /^[wa]\+?$/.test(value[1])) {
    return { path: value[0], mode: value[1][0] as 'w' | 'a' };
  }
  throw new ConfigError(name, `expected a path or [path, 'w' | 'a'], got ${JSON.stringify(value)}`);
}

function abortSignalOf(value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new ConfigError('signal', `expected an AbortSignal, got ${value === null ? 'null' : typeof value}`);
}

function walltimeOf(callValue: unknown, appDefault: number | undefined): number | undefined {
  if (callValue === undefined) return appDefault;
  const ms = typeof callValue === 'number' || typeof callValue === 'string' ? parseDuration(callValue) : Number.NaN;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new ConfigError('walltime', `expected a positive duration in ms or a string such as '30s', got ${JSON.stringify(callValue)}`);
  }
  return ms;
}

function outputFiles(outputs: unknown): File[] {
  if (outputs === undefined) return [];
  if (!Array.isArray(outputs)) throw new ConfigError('outputs', `expected an array of File or paths, got ${typeof outputs}`);
  return outputs.map((item, i) => {
    if (item instanceof File) return item;
    if (typeof item === 'string' || item instanceof URL) return new File(item);
    throw new ConfigError(`outputs[${i}]`, `expected a File or a path, got ${typeof item}`);
  });
}

/** Threads the config's thread executors start (those with resource limits start their own). */
function threadsToStart(config: Config): number {
  let threads = 0;
  for (const executor of config.executors) {
    if (executor instanceof ThreadPoolExecutor && executor.options.resourceLimits === undefined) threads += executor.options.maxThreads;
  }
  return threads;
}

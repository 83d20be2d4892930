/**
 * Every error parsl-ts raises. Local errors end in `Error`; errors that crossed a boundary
 * (a worker thread, a process, a site) end in `Failure`.
 *
 * Each class is branded with a `Symbol.for` key so that `instanceof` holds for an error made
 * in another realm (a worker thread, a second copy of this package).
 */

/**
 * What an error looks like once it has crossed a thread or a network.
 *
 * @example
 * ```ts
 * const plain: SerializedError = { name: 'TypeError', message: 'x is not a function' };
 * ```
 */
export interface SerializedError {
  /** The error's class name. */
  name: string;
  /** The error's message. */
  message: string;
  /** The stack where it was thrown (a worker's, for a task). */
  stack?: string | undefined;
  /** The cause, serialized too; `{ value }` for a cause that is not an error. */
  cause?: SerializedError | { value: unknown } | undefined;
  /** Own enumerable data properties that survive a structured clone (`code`, `exitCode`…). */
  props?: Record<string, unknown> | undefined;
}

const BRAND = Symbol.for('parsl-ts.error-brand');

/**
 * Base of all parsl-ts errors.
 *
 * @example
 * ```ts
 * try { await f; } catch (e) { if (e instanceof ParslError) console.log(e.name, e.message); }
 * ```
 */
export class ParslError extends Error {
  static {
    this.prototype.name = 'ParslError';
  }
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: new.target.name });
  }
  /** `instanceof` that also holds for an error made in another realm (a worker thread, a second copy of parsl-ts): compares the class brand. */
  static [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    if (Object.prototype.isPrototypeOf.call(this.prototype, value)) return true;
    // Across realms, compare the brand chain by class name.
    const brand = (value as Record<symbol, unknown>)[BRAND];
    if (typeof brand !== 'string') return false;
    if (this === ParslError) return true;
    return brand === this.name || errorClasses.get(brand)?.prototype instanceof this;
  }
}

/**
 * A configuration or argument that does not pass validation.
 *
 * @example
 * ```ts
 * try { new ThreadPoolExecutor({ maxThreads: 0 }); }
 * catch (e) { if (e instanceof ConfigError) console.log(e.path); }   // ThreadPoolExecutor.maxThreads
 * ```
 */
export class ConfigError extends ParslError {
  /** Path of the offending option, such as `executors[0].maxThreads`. */
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(path ? `${path}: ${message}` : message, options);
    this.path = path;
  }
}

/**
 * A call made in the wrong lifecycle state, e.g. submitting after `clear()`.
 *
 * @example
 * ```ts
 * await clear(); try { double(1); } catch (e) { console.log(e instanceof IllegalStateError); }   // true
 * ```
 */
export class IllegalStateError extends ParslError {}

/**
 * No DataFlowKernel is loaded and an app was called.
 *
 * @example
 * ```ts
 * try { double(1); } catch (e) { console.log(e instanceof NoKernelError); }   // true: load() first
 * ```
 */
export class NoKernelError extends IllegalStateError {
  constructor() {
    super('No DataFlowKernel is loaded: call load() (or load(config)) before calling apps.');
  }
}

/**
 * An app function cannot be sent to a worker (captured variables, native code, a class method…).
 *
 * @example
 * ```ts
 * const factor = 3;
 * try { app((x: number) => x * factor); }            // reads a variable of the script
 * catch (e) { console.log(e instanceof FunctionSerializationError); }   // true: pass factor as an argument
 * ```
 */
export class FunctionSerializationError extends ParslError {}

/**
 * An argument or a result cannot be sent between threads or processes.
 *
 * @example
 * ```ts
 * const f = app((o: unknown) => o)(() => 1);          // a function as an argument
 * console.log((await f.exception()) instanceof SerializationError);   // true
 * ```
 */
export class SerializationError extends ParslError {}

/**
 * A task failed because tasks it depends on failed.
 *
 * @example
 * ```ts
 * const error = await double(fails()).exception();
 * if (error instanceof DependencyError) console.log(error.chain, error.cause);
 * ```
 */
export class DependencyError extends ParslError {
  /** Ids of the failed tasks this task depended on directly. */
  readonly dependentTaskIds: number[];
  /** The task that was not run. */
  readonly taskId: number;
  /** The representative path to the root failure: a failed dependency, its failed dependency… */
  readonly chain: number[];
  /**
   * The message leads with the root cause and stays short on a large fan-in or a deep chain
   * (3,000 ids made 15 KB of text): it names a few ids and the count; the full lists are the
   * properties.
   */
  constructor(taskId: number, dependentTaskIds: number[], chain: number[], cause: unknown) {
    const on =
      dependentTaskIds.length === 0
        ? 'a failed promise'
        : `failed task${dependentTaskIds.length === 1 ? '' : 's'} ${abbreviateIds(dependentTaskIds)}`;
    const via = chain.length > 0 ? `; the representative cause is via task ${abbreviateChain(chain)}` : '';
    super(`Dependency failure for task ${taskId}: ${describeRootCause(cause)}. It depends on ${on}${via}.`, { cause });
    this.taskId = taskId;
    this.dependentTaskIds = dependentTaskIds;
    this.chain = chain;
  }
}

/** "1, 2, 3 … and 2,997 more" for a long list; the whole list when it is short. */
function abbreviateIds(ids: readonly number[]): string {
  if (ids.length <= 5) return ids.join(', ');
  return `${ids.slice(0, 3).join(', ')} … and ${(ids.length - 3).toLocaleString('en-US')} more`;
}

/** "9 <- task 8 <- task 7 <- … <- task 2 <- task 1 (9 tasks)" for a deep chain. */
function abbreviateChain(chain: readonly number[]): string {
  if (chain.length <= 6) return chain.join(' <- task ');
  return `${chain.slice(0, 3).join(' <- task ')} <- … <- task ${chain.slice(-2).join(' <- task ')} (${chain.length} tasks)`;
}

/** The first error down the `cause` chain that is not a dependency failure, on one line. */
function describeRootCause(cause: unknown): string {
  let root = cause;
  for (let depth = 0; root instanceof DependencyError && depth < 1000; depth++) root = root.cause;
  const text = (root instanceof Error ? `${root.name}: ${root.message}` : String(root)).replace(/\s+/g, ' ').trim();
  return text.length > 240 ? `${text.slice(0, 240)}…` : text;
}

/**
 * A join app's inner futures failed.
 *
 * @example
 * ```ts
 * const e = await joinApp(() => [fails()])().exception();
 * if (e instanceof JoinError) console.log(e.failedTaskIds);
 * ```
 */
export class JoinError extends ParslError {
  /** The join app's task. */
  readonly taskId: number;
  /** The failed tasks among the futures it returned. */
  readonly failedTaskIds: number[];
  constructor(taskId: number, failedTaskIds: number[], cause: unknown) {
    super(`join app task ${taskId} failed: the future(s) it returned failed (tasks ${abbreviateIds(failedTaskIds) || 'unknown'})`, {
      cause,
    });
    this.taskId = taskId;
    this.failedTaskIds = failedTaskIds;
  }
}

/**
 * A bash app's command exited with a non-zero status.
 *
 * @example
 * ```ts
 * const e = await bashApp(() => 'exit 3')().exception();
 * if (e instanceof BashExitFailure) console.log(e.exitCode, e.command);   // 3 exit 3
 * ```
 */
export class BashExitFailure extends ParslError {
  /** The command's exit status. */
  readonly exitCode: number;
  /** The command line that ran. */
  readonly command: string;
  constructor(command: string, exitCode: number) {
    super(`bash app exited with code ${exitCode}: ${command}`);
    this.exitCode = exitCode;
    this.command = command;
  }
}

/**
 * A bash app finished but some of its declared `outputs` do not exist.
 *
 * @example
 * ```ts
 * const e = await bashApp((_o: { outputs: File[] }) => 'true')({ outputs: [new File('never.txt')] }).exception();
 * if (e instanceof MissingOutputs) console.log(e.outputs);   // [ 'never.txt' ]
 * ```
 */
export class MissingOutputs extends ParslError {
  /** The declared outputs that do not exist. */
  readonly outputs: string[];
  constructor(outputs: string[]) {
    super(`app finished but these declared outputs are missing: ${outputs.join(', ')}`);
    this.outputs = outputs;
  }
}

/**
 * An app ran longer than its `walltime`.
 *
 * @example
 * ```ts
 * const e = await bashApp((_o: { walltime: string }) => 'sleep 10')({ walltime: '1s' }).exception();
 * console.log(e instanceof AppTimeout);   // true
 * ```
 */
export class AppTimeout extends ParslError {
  /** The walltime that was exceeded, in ms. */
  readonly walltimeMs: number;
  constructor(walltimeMs: number) {
    super(`app exceeded its walltime of ${walltimeMs} ms`);
    this.walltimeMs = walltimeMs;
  }
}

/**
 * The worker thread running the task died (process.exit, a memory limit, a crash).
 *
 * @example
 * ```ts
 * load(new Config({ retries: 3, retryHandler: (e) => (e instanceof WorkerLost ? 0 : 1) }));   // lost workers retry for free
 * ```
 */
export class WorkerLost extends ParslError {
  /** The worker that was lost. */
  readonly workerId: string;
  constructor(workerId: string, reason: string) {
    super(`worker ${workerId} was lost while running this task: ${reason}`);
    this.workerId = workerId;
  }
}

/**
 * The helper process that starts a thread's bash commands died before this command's end was reported.
 *
 * @example
 * ```ts
 * load(new Config({ retries: 1, retryHandler: (e) => (e instanceof BashHelperLost ? 0 : 1) }));
 * ```
 */
export class BashHelperLost extends ParslError {
  /** The pid of the helper process that died. */
  readonly helperPid: number;
  constructor(helperPid: number, reason: string) {
    super(`the bash helper process (pid ${helperPid}) that started this command was lost: ${reason}; a new one starts for the next command`);
    this.helperPid = helperPid;
  }
}

/**
 * A block manager stopped heartbeating while it held this task.
 *
 * @example
 * ```ts
 * const e = await f.exception(); if (e instanceof ManagerLost) console.log('block lost:', e.blockId);
 * ```
 */
export class ManagerLost extends ParslError {
  /** The block whose manager was lost. */
  readonly blockId: string;
  constructor(blockId: string, reason: string) {
    super(`block manager ${blockId} was lost while holding this task: ${reason}`);
    this.blockId = blockId;
  }
}

/**
 * A pinned task's site (a HighThroughputExecutor with `site`) was out of reach, its leaf node
 * and blocks silent, for longer than the site's `siteLostTimeout`.
 *
 * @example
 * ```ts
 * const e = await f.exception(); if (e instanceof SiteLost) console.log(e.site, e.executor);
 * ```
 */
export class SiteLost extends ParslError {
  /** Name of the site that was lost. */
  readonly site: string;
  /** Label of the executor whose site it is. */
  readonly executor: string;
  constructor(executor: string, site: string, silentMs: number) {
    super(`site '${site}' of executor '${executor}' has been out of reach for ${Math.round(silentMs / 1000)} s (longer than its siteLostTimeout)`);
    this.site = site;
    this.executor = executor;
  }
}

/**
 * Blocks of an executor keep failing to start; the executor stopped submitting more.
 *
 * @example
 * ```ts
 * const e = await f.exception(); if (e instanceof BlockStartError) console.log(e.executor, e.message);   // see runinfo/NNN/submit_scripts/
 * ```
 */
export class BlockStartError extends ParslError {
  /** Label of the executor whose blocks do not start. */
  readonly executor: string;
  constructor(executor: string, failures: number, lastReason: string) {
    super(
      `executor '${executor}' stopped scaling: ${failures} blocks in a row failed to start; the last one: ${lastReason}. ` +
        'Check the provider settings (partition, account, walltime, workerInit) and the block logs in the provider script directory.',
    );
    this.executor = executor;
  }
}

/**
 * The task was cancelled before it was launched.
 *
 * @example
 * ```ts
 * const f = double(2);
 * f.cancel('not needed');
 * console.log((await f.exception()) instanceof TaskCancelledError);   // true
 * ```
 */
export class TaskCancelledError extends ParslError {}

/**
 * `result(timeoutMs)` ran out of time; the task itself goes on.
 *
 * @example
 * ```ts
 * try { await slow().result(1_000); } catch (e) { console.log(e instanceof TimeoutError); }   // the task goes on
 * ```
 */
export class TimeoutError extends ParslError {}

/**
 * The DataFlowKernel was cleared while the task was still outstanding.
 *
 * @example
 * ```ts
 * const f = slow(); await clear(); console.log((await f.exception()) instanceof KernelClosedError);
 * ```
 */
export class KernelClosedError extends ParslError {}

/**
 * An app's own error, rebuilt on this side when its class is not a built-in one.
 *
 * @example
 * ```ts
 * class MyError extends Error {}
 * const e = await app(() => { throw new MyError('x'); })().exception();
 * if (e instanceof RemoteFailure) console.log(e.name);   // MyError
 * ```
 */
export class RemoteFailure extends ParslError {}

const builtinErrors: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

const errorClasses = new Map<string, { prototype: object }>();
for (const cls of [
  ParslError,
  ConfigError,
  IllegalStateError,
  NoKernelError,
  FunctionSerializationError,
  SerializationError,
  DependencyError,
  JoinError,
  BashExitFailure,
  MissingOutputs,
  AppTimeout,
  WorkerLost,
  BashHelperLost,
  ManagerLost,
  SiteLost,
  BlockStartError,
  TaskCancelledError,
  TimeoutError,
  KernelClosedError,
  RemoteFailure,
]) {
  errorClasses.set(cls.name, cls);
}

function cloneableProps(error: object): Record<string, unknown> | undefined {
  let props: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(error)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
    const t = typeof value;
    if (value === null || t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint') {
      (props ??= {})[key] = value;
    } else if (Array.isArray(value) && value.every((v) => typeof v !== 'object' && typeof v !== 'function')) {
      (props ??= {})[key] = value;
    }
  }
  return props;
}

/** Lets errors of this class cross threads and processes as themselves (see `deserializeError`). */
export function registerErrorClasses(...classes: { name: string; prototype: object }[]): void {
  for (const cls of classes) errorClasses.set(cls.name, cls);
}

/** Turns any thrown value into a plain object that survives structured clone and JSON. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (error instanceof Error) {
    const serialized: SerializedError = {
      name: error.name || error.constructor?.name || 'Error',
      message: error.message,
      stack: error.stack,
      props: cloneableProps(error),
    };
    if (error.cause !== undefined && depth < 8) {
      serialized.cause = serializeError(error.cause, depth + 1);
    }
    return serialized;
  }
  return { name: 'NonErrorThrown', message: `a non-Error value was thrown: ${String(error)}` };
}

/**
 * Rebuilds a serialized error: parsl-ts classes and built-ins become their own class; any
 * other class becomes a `RemoteFailure` whose `name` is the original class name.
 */
export function deserializeError(serialized: SerializedError): Error {
  const cls = errorClasses.get(serialized.name) ?? builtinErrors[serialized.name];
  const cause =
    serialized.cause && 'name' in serialized.cause
      ? deserializeError(serialized.cause as SerializedError)
      : serialized.cause
        ? (serialized.cause as { value: unknown }).value
        : undefined;
  const error: Error = Object.create((cls ?? RemoteFailure).prototype as object);
  Object.defineProperty(error, 'message', { value: serialized.message, writable: true, configurable: true });
  Object.defineProperty(error, 'name', { value: serialized.name, writable: true, configurable: true });
  if (serialized.stack !== undefined) {
    Object.defineProperty(error, 'stack', { value: serialized.stack, writable: true, configurable: true });
  }
  if (cause !== undefined) {
    Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true });
  }
  if (error instanceof ParslError) Object.defineProperty(error, BRAND, { value: serialized.name });
  if (serialized.props) Object.assign(error, serialized.props);
  return error;
}

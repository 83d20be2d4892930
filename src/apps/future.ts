import { inspect } from 'node:util';
import { TimeoutError } from '../common/errors.ts';
import type { TaskState } from './task-states.ts';
import type { File } from '../staging/file.ts';

type Settled = (future: BaseFuture<unknown>) => void;

/** The callbacks of a future's first `then`, and the settlers of the promise it returned. */
interface FirstThen {
  onfulfilled: ((value: unknown) => unknown) | null | undefined;
  onrejected: ((reason: unknown) => unknown) | null | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;

/**
 * A value that will exist later. Awaitable (`await f`, `f.then`), and it never rejects an
 * unobserved promise: the promise behind `then` is made only when someone asks.
 */
export abstract class BaseFuture<T> implements PromiseLike<T> {
  #status: 0 | 1 | 2 = PENDING;
  /** The value once fulfilled, the error once rejected: one field, as a future has only one of them (8 bytes a future). */
  #outcome: unknown;
  #listeners: Settled[] | undefined;
  /**
   * The first `then` while pending: its callbacks and the settlers of the promise it returned,
   * run when the future settles. `Promise.all` calls `then` once on each future it is given; a
   * promise of the future's own with the callbacks chained on it cost ~280 bytes a future
   * (a listener closure, its array, a promise and a derived one), this ~140 (measured on a
   * million futures; Promise.all's own wrapping of a thenable is another ~380).
   */
  #first: FirstThen | undefined;

  /** True once the future has a result or an error. */
  done(): boolean {
    return this.#status !== PENDING;
  }

  /**
   * The result, waiting for it if needed. With `timeoutMs`, rejects with `TimeoutError` if the
   * future is not done by then (the task itself goes on).
   */
  result(timeoutMs?: number): Promise<T> {
    if (timeoutMs === undefined || this.done()) return this.#promise();
    // Made here so that the stack points at the caller.
    const timeoutError = new TimeoutError(`no result within ${timeoutMs} ms`);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(timeoutError), timeoutMs);
      this.#promise().then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /** Waits until done, then gives the error the future failed with, or `undefined`. */
  async exception(): Promise<unknown> {
    if (!this.done()) await new Promise<void>((resolve) => this.onSettled(() => resolve()));
    return this.#status === REJECTED ? this.#outcome : undefined;
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (this.#status !== PENDING || this.#first !== undefined) return this.#promise().then(onfulfilled, onrejected);
    let first!: FirstThen;
    const promise = new Promise<R1 | R2>((resolve, reject) => {
      first = { onfulfilled: onfulfilled as FirstThen['onfulfilled'], onrejected, resolve: resolve as FirstThen['resolve'], reject };
    });
    this.#first = first;
    return promise;
  }

  /** As `Promise.prototype.catch`: handles the task's failure. */
  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.#promise().catch(onrejected);
  }

  /** @internal Calls `listener` once the future is done (at once if it already is). */
  onSettled(listener: Settled): void {
    if (this.#status !== PENDING) listener(this as BaseFuture<unknown>);
    else (this.#listeners ??= []).push(listener);
  }

  /** @internal The value, for a future known to be fulfilled. */
  get settledValue(): T | undefined {
    return this.#status === FULFILLED ? (this.#outcome as T) : undefined;
  }

  /** @internal The error, for a future known to be rejected. */
  get settledError(): unknown {
    return this.#status === REJECTED ? this.#outcome : undefined;
  }

  /** @internal */
  get fulfilled(): boolean {
    return this.#status === FULFILLED;
  }

  /** @internal */
  get rejected(): boolean {
    return this.#status === REJECTED;
  }

  /** @internal Settles with a value; a second settle is ignored. */
  setResult(value: T): void {
    if (this.#status !== PENDING) return;
    this.#status = FULFILLED;
    this.#outcome = value;
    this.#notify();
  }

  /** @internal Settles with an error; a second settle is ignored. */
  setException(error: unknown): void {
    if (this.#status !== PENDING) return;
    this.#status = REJECTED;
    this.#outcome = error;
    this.#notify();
  }

  #notify(): void {
    const first = this.#first;
    if (first) {
      this.#first = undefined;
      // As a promise would: the callback runs in a microtask, its result or throw settles the promise `then` returned.
      const fulfilled = this.#status === FULFILLED;
      const outcome = this.#outcome;
      queueMicrotask(() => {
        const callback = fulfilled ? first.onfulfilled : first.onrejected;
        if (typeof callback !== 'function') return fulfilled ? first.resolve(outcome) : first.reject(outcome);
        try {
          first.resolve(callback(outcome));
        } catch (error) {
          first.reject(error);
        }
      });
    }
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener(this as BaseFuture<unknown>);
  }

  #promise(): Promise<T> {
    if (this.#status === FULFILLED) return Promise.resolve(this.#outcome as T);
    if (this.#status === REJECTED) return Promise.reject(this.#outcome);
    return new Promise<T>((resolve, reject) =>
      this.onSettled(() => (this.#status === FULFILLED ? resolve(this.#outcome as T) : reject(this.#outcome))),
    );
  }
}

/** Hooks an `AppFuture` needs from the kernel that owns its task. */
export interface TaskControl {
  /** Asks for the task to be cancelled; returns whether it will end cancelled. */
  cancel(future: AppFuture<unknown>, reason: unknown): boolean;
}

let writeState: (future: AppFuture<unknown>, state: TaskState) => void;

/**
 * @internal Writes a task's state, unchecked. Only `transition()` (apps/task-states.ts) calls
 * it: that is where the transitions are guarded.
 */
export function writeTaskState(future: AppFuture<unknown>, state: TaskState): void {
  writeState(future, state);
}

const APP_FUTURE_BRAND = Symbol.for('parsl-ts.AppFuture');
const NO_OUTPUTS: readonly DataFuture[] = Object.freeze([]);

/**
 * The future of one app call: `tid`, `state`, the result, and a `DataFuture` for each declared
 * output. Parsl's `AppFuture`.
 *
 * @example
 * ```ts
 * const f = double(21);                 // AppFuture<number>, at once
 * console.log(f.tid, f.state);          // 1 'pending'
 * console.log(await f, f.done());       // 42 true
 * ```
 */
export class AppFuture<T> extends BaseFuture<T> {
  /** The task id, unique within one DataFlowKernel. */
  readonly tid: number;
  /** Name of the app that made this task. */
  readonly appName: string;
  #outputs: DataFuture[] | undefined;
  /** The call's stdout and stderr files; one field, and none kept when neither was given (most calls). */
  readonly #streams: { stdout?: string | undefined; stderr?: string | undefined } | undefined;
  /** @internal */
  readonly control: TaskControl;
  /** @internal Set by `cancel()`: from then on the DFK ends this task only as cancelled. */
  cancelRequested: { reason: unknown; error: Error } | undefined;
  #state: TaskState = 'pending';

  constructor(
    tid: number,
    appName: string,
    control: TaskControl,
    streams: { stdout?: string | undefined; stderr?: string | undefined } = {},
  ) {
    super();
    this.tid = tid;
    this.appName = appName;
    this.control = control;
    if (streams.stdout !== undefined || streams.stderr !== undefined) this.#streams = streams;
  }

  /** The bash app's stdout file, if one was given. */
  get stdout(): string | undefined {
    return this.#streams?.stdout;
  }

  /** The bash app's stderr file, if one was given. */
  get stderr(): string | undefined {
    return this.#streams?.stderr;
  }

  /** A `DataFuture` for each entry of the call's `outputs` (most calls have none: no array is kept for them). */
  get outputs(): readonly DataFuture[] {
    return this.#outputs ?? NO_OUTPUTS;
  }

  /** @internal */
  addOutput(output: DataFuture): void {
    (this.#outputs ??= []).push(output);
  }

  /**
   * Where the task is in its life: pending, launched, running, exec_done, failed, dep_fail…
   * Read-only: the DFK supervisor moves it (see `TaskState` for the transitions).
   */
  get state(): TaskState {
    return this.#state;
  }

  /**
   * Cancels the task wherever it is: waiting for its dependencies, queued at an executor, a
   * worker or a block (taken off), or running (an async app sees `taskSignal()` aborted, a
   * synchronous app's worker thread is ended and replaced, a bash app's command is killed).
   * The future fails with `TaskCancelledError`, its `cause` being `reason`; tasks depending
   * on it fail with `DependencyError`. Returns whether it took effect: false once the task
   * has ended (or a cancel was already asked for).
   */
  cancel(reason?: unknown): boolean {
    return this.control.cancel(this as AppFuture<unknown>, reason);
  }

  static {
    writeState = (future, state) => {
      future.#state = state;
    };
  }

  /** How `console.log` shows the future: `<AppFuture tid=3 state=exec_done returned number>`. */
  [inspect.custom](): string {
    return `<AppFuture tid=${this.tid} state=${this.#state}${describeOutcome(this)}>`;
  }

  /** `instanceof` across realms (another copy of parsl-ts). */
  static {
    // On the prototype, not on each future: a property defined on every instance made each of a
    // million futures slower to create and bigger.
    Object.defineProperty(AppFuture.prototype, APP_FUTURE_BRAND, { value: true });
  }

  /** `instanceof AppFuture` holds for a future made by another copy of parsl-ts too (it checks the brand). */
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[APP_FUTURE_BRAND] === true;
  }
}

/**
 * The future of a file an app produces: resolves to the `File` when the app finishes, or, for
 * a file a separate task stages out (an `sftp://` output, say), once that task has delivered
 * it. Parsl's `DataFuture`.
 *
 * @example
 * ```ts
 * const made = bashApp((_o: { outputs: File[] }) => 'date > now.txt')({ outputs: [new File('now.txt')] });
 * const file = await made.outputs[0]!;  // the File, once the task is done
 * ```
 */
export class DataFuture extends BaseFuture<File> {
  /** The file this future stands for. */
  readonly file: File;
  /** The future of the app that produces the file. */
  readonly parent: AppFuture<unknown>;

  constructor(parent: AppFuture<unknown>, file: File) {
    super();
    this.parent = parent;
    this.file = file;
  }

  /** Task id of the producing app. */
  get tid(): number {
    return this.parent.tid;
  }

  /** The stage-out task this future waits for, when its file is delivered by one. */
  #stageOut: BaseFuture<unknown> | undefined;

  /**
   * @internal The file is delivered by a separate stage-out task: this future settles with
   * that task (its file once delivered, or its error), not with the app.
   */
  settleWith(stageOut: BaseFuture<unknown>): void {
    this.#stageOut = stageOut;
    stageOut.onSettled(() => (stageOut.rejected ? super.setException(stageOut.settledError) : super.setResult(this.file)));
  }

  /** The future of the stage-out task that delivers the file, if one does. */
  get stageOutFuture(): BaseFuture<unknown> | undefined {
    return this.#stageOut;
  }

  /** @internal Ignored when a stage-out task settles this future. */
  override setResult(value: File): void {
    if (this.#stageOut === undefined) super.setResult(value);
  }

  /** @internal Ignored when a stage-out task settles this future. */
  override setException(error: unknown): void {
    if (this.#stageOut === undefined) super.setException(error);
  }

  /** The path of the file (`file.filepath`): where a task opens it. */
  get filepath(): string {
    return this.file.filepath;
  }

  /** The file's name, without its directory. */
  get filename(): string {
    return this.file.filename;
  }

  /** How `console.log` shows the future: `<DataFuture file:///…/out.txt of tid=3 …>`. */
  [inspect.custom](): string {
    return `<DataFuture ${this.file.url} of tid=${this.parent.tid}${describeOutcome(this)}>`;
  }
}

function describeOutcome(future: BaseFuture<unknown>): string {
  if (future.fulfilled) {
    const value = future.settledValue;
    const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
    return ` returned ${kind}`;
  }
  if (future.rejected) {
    const error = future.settledError;
    return ` raised ${error instanceof Error ? error.name : typeof error}`;
  }
  return '';
}

/** True for anything `await` would wait on. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

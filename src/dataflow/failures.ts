import { DependencyError } from '../common/errors.ts';
import type { DependencyValue } from './arguments.ts';

/**
 * The errors the DFK makes of other errors: a task whose dependencies failed, and a retry
 * handler that threw.
 */

/** The `DependencyError` of task `taskId`: which dependencies failed, and the chain back to the first failure. */
export function dependencyError(taskId: number, failures: Extract<DependencyValue, { failed: true }>[]): DependencyError {
  const ids = new Set<number>();
  for (const failure of failures) {
    const tid = (failure.dep as { tid?: unknown }).tid;
    if (typeof tid === 'number') ids.add(tid);
  }
  const first = failures[0]!;
  const upstream = first.error instanceof DependencyError ? first.error.chain : [];
  const firstTid = (first.dep as { tid?: unknown }).tid;
  // A DataFuture carries the id of its app, as does the error of its stage-out task: once is enough.
  const chain = typeof firstTid === 'number' && upstream[0] !== firstTid ? [firstTid, ...upstream] : upstream;
  return new DependencyError(taskId, [...ids], chain, first.error);
}

/** The handler's error is the task's error; the app's error becomes its cause (unless it has one). */
export function retryHandlerFailure(thrown: unknown, appError: unknown): Error {
  if (!(thrown instanceof Error)) return new Error(`the retry handler threw ${String(thrown)}`, { cause: appError });
  if (thrown.cause === undefined) {
    Object.defineProperty(thrown, 'cause', { value: appError, writable: true, configurable: true, enumerable: false });
  }
  return thrown;
}

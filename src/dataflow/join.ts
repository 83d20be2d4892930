import { isThenable } from '../apps/future.ts';
import { JoinError } from '../common/errors.ts';
import type { DependencyValue } from './arguments.ts';

/**
 * Why a join app's return value cannot be joined, or undefined when it can. As in Parsl, a join
 * app returns a future or an array of futures (an empty array joins nothing); anything else
 * fails the task with a TypeError.
 */
export function joinProblem(value: unknown): string | undefined {
  if (isThenable(value)) return undefined;
  if (!Array.isArray(value)) return `got ${kindOf(value)}`;
  const index = value.findIndex((item) => !isThenable(item));
  return index < 0 ? undefined : `got an array whose element ${index} is ${kindOf(value[index])}`;
}

/**
 * What the join app's task `taskId` ends with once everything its function returned (`value`)
 * has settled: their values (an array for an array), or a `JoinError` naming the tasks that
 * failed, with the first error as its cause.
 */
export function joinResult(
  taskId: number,
  value: unknown,
  valueOf: (dep: PromiseLike<unknown>) => DependencyValue,
): { ok: true; value: unknown } | { ok: false; error: JoinError } {
  const failed: number[] = [];
  let firstError: unknown;
  const values = (Array.isArray(value) ? value : [value]).map((item) => {
    if (!isThenable(item)) return item;
    const settled = valueOf(item);
    if (!settled.failed) return settled.value;
    const tid = (item as { tid?: unknown }).tid;
    if (typeof tid === 'number') failed.push(tid);
    if (firstError === undefined) firstError = settled.error;
    return undefined;
  });
  if (failed.length > 0 || firstError !== undefined) return { ok: false, error: new JoinError(taskId, failed, firstError) };
  return { ok: true, value: Array.isArray(value) ? values : values[0] };
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

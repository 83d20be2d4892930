import { isThenable } from '../apps/future.ts';

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

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

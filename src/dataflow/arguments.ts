import { CALL_OPTION_KEYS } from '../apps/app.ts';
import { type BaseFuture, DataFuture, isThenable } from '../apps/future.ts';

/**
 * The arguments of every call made with none. A million pending no-argument calls would
 * otherwise keep two empty arrays each (the call's, and its encoding for a worker): 64 bytes a
 * task. Frozen, so that a writer finds out at once that it is shared.
 */
export const NO_ARGS: unknown[] = Object.freeze([]) as unknown as unknown[];

/**
 * Index of the call's trailing options object (Parsl's keyword arguments), or -1: the last
 * argument, when it is a plain object with at least one of `inputs`, `outputs`, `stdout`,
 * `stderr`, `walltime`, `signal`.
 */
export function findCallOptions(args: readonly unknown[]): number {
  const last = args.length - 1;
  if (last < 0) return -1;
  const value = args[last];
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isThenable(value)) return -1;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return -1;
  for (const key in value) if (CALL_OPTION_KEYS.has(key)) return last;
  return -1;
}

/**
 * Visits every dependency of a call: futures and promises given as arguments, as values of
 * the options object, or inside its `inputs`. Nothing deeper is looked at, as in Parsl.
 */
export function forEachDependency(args: readonly unknown[], kwargsIndex: number, visit: (dep: PromiseLike<unknown>) => void): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (i === kwargsIndex) {
      const kwargs = arg as Record<string, unknown>;
      for (const key in kwargs) {
        const value = kwargs[key];
        if (isThenable(value)) visit(value);
        else if (key === 'inputs' && Array.isArray(value)) {
          for (const item of value) if (isThenable(item)) visit(item);
        }
      }
    } else if (isThenable(arg)) {
      visit(arg);
    }
  }
}

/** A dependency's value once settled; `failed` when it settled with an error. */
export type DependencyValue = { failed: false; value: unknown } | { failed: true; error: unknown; dep: PromiseLike<unknown> };

/**
 * The arguments with every dependency replaced by its value. Dependencies that failed are
 * collected in `failures` instead.
 */
export function resolveArguments(
  args: readonly unknown[],
  kwargsIndex: number,
  valueOf: (dep: PromiseLike<unknown>) => DependencyValue,
): { args: unknown[]; failures: Extract<DependencyValue, { failed: true }>[] } {
  const failures: Extract<DependencyValue, { failed: true }>[] = [];
  const resolved = new Array<unknown>(args.length);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (i === kwargsIndex) {
      const kwargs: Record<string, unknown> = { ...(arg as Record<string, unknown>) };
      // The call's AbortSignal is the DFK's to watch; it cannot travel to a worker.
      delete kwargs.signal;
      for (const key in kwargs) {
        const value = kwargs[key];
        if (key === 'inputs' && Array.isArray(value)) kwargs[key] = value.map((item: unknown) => resolveOne(item, valueOf, failures));
        else kwargs[key] = resolveOne(value, valueOf, failures);
      }
      resolved[i] = kwargs;
    } else {
      resolved[i] = resolveOne(arg, valueOf, failures);
    }
  }
  return { args: resolved, failures };
}

/**
 * One argument, its dependency replaced by its value. A module function, not a closure made
 * per call: the package is built with esbuild's `keepNames`, which names a closure assigned to
 * a variable with `Object.defineProperty` each time it is made (~0.4-1 µs, per task here).
 */
function resolveOne(item: unknown, valueOf: (dep: PromiseLike<unknown>) => DependencyValue, failures: Extract<DependencyValue, { failed: true }>[]): unknown {
  if (!isThenable(item)) return item;
  const settled = valueOf(item);
  if (settled.failed) {
    failures.push(settled);
    return undefined;
  }
  return settled.value;
}

/** The value of a settled future: a `DataFuture` stands for its file. */
export function settledFutureValue(future: BaseFuture<unknown>): DependencyValue {
  if (future.rejected) return { failed: true, error: future.settledError, dep: future };
  return { failed: false, value: future instanceof DataFuture ? future.file : future.settledValue };
}

/**
 * An executor as a `Config` names it: a label and its options. The executor manager actor that
 * runs it lives in `src/actors/` (`executor-thread.ts`, `executor-htex.ts`); the DFK supervisor
 * spawns it from the executor's `kind`.
 *
 * @example
 * ```ts
 * const executors: Executor[] = [new ThreadPoolExecutor({ label: 'local' }), new HighThroughputExecutor({ label: 'htex' })];
 * load(new Config({ executors }));
 * ```
 */
export interface Executor {
  /** Unique within a Config; apps name it in `executors: [...]`. */
  readonly label: string;
  /** Which executor manager runs it. */
  readonly kind: ExecutorKind;
}

/** The kinds of executor manager. */
export type ExecutorKind = 'threads' | 'htex';

/** Label of the executor that runs join apps in the DFK's own thread; no Config may use it. */
export const MAIN_THREAD_EXECUTOR_LABEL = '_parsl_internal';

const EXECUTOR_BRAND = Symbol.for('parsl-ts.Executor');

/** Marks a class instance as an executor (so that config validation recognises it across copies). */
export function brandExecutor(executor: Executor): void {
  Object.defineProperty(executor, EXECUTOR_BRAND, { value: true });
}

export function isExecutor(value: unknown): value is Executor {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[EXECUTOR_BRAND] === true;
}

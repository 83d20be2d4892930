import type { Ref } from '../actors/actor.ts';
import type { FromExecutor, ToExecutor } from '../actors/protocol.ts';

/**
 * An executor as a `Config` names it: a label, and how to start its manager actor under the
 * DFK supervisor. Each kind (threads, high-throughput over NATS…) implements this.
 */
export interface Executor {
  /** Unique within a Config; apps name it in `executors: [...]`. */
  readonly label: string;
  /** Spawns the executor manager actor as a child of `parent`; it reports to `dfk`. */
  spawnManager(parent: Ref<unknown>, dfk: Ref<FromExecutor>, context: ExecutorContext): Ref<ToExecutor>;
}

/** What the run's Config tells every executor. */
export interface ExecutorContext {
  /** How executors with blocks scale (Config.strategy). */
  strategy: 'simple' | 'none';
  strategyPeriodMs: number;
  maxIdleTimeMs: number;
}

const EXECUTOR_BRAND = Symbol.for('parsl-ts.Executor');

/** Marks a class instance as an executor (so that config validation recognises it across copies). */
export function brandExecutor(executor: Executor): void {
  Object.defineProperty(executor, EXECUTOR_BRAND, { value: true });
}

export function isExecutor(value: unknown): value is Executor {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[EXECUTOR_BRAND] === true;
}

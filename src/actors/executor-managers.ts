/**
 * How the DFK supervisor starts the manager actor of each executor of its Config.
 */
import type { Ref } from './actor.ts';
import type { FromExecutor, ToExecutor } from './messages.ts';
import { spawnThreadExecutor } from './executor-thread.ts';
import { spawnLazyHtexManager } from './executor-htex-lazy.ts';
import { spawnMainThreadExecutor } from './executor-main-thread.ts';
import type { Executor } from '../executors/executor.ts';
import type { ThreadPoolExecutor } from '../executors/thread-executor.ts';
import type { HighThroughputExecutor } from '../executors/htex.ts';
import type { RunDir } from '../dataflow/run-dir.ts';
import type { ExecutorMonitoring } from '../monitoring/events.ts';

/** What the run's Config tells every executor manager. */
export interface ExecutorContext {
  /** How executors with blocks scale (Config.strategy). */
  strategy: 'simple' | 'none';
  strategyPeriodMs: number;
  maxIdleTimeMs: number;
  /** The run's directory: where the NATS store and the blocks' submit scripts go. */
  run: RunDir;
  /** Where blocks, nodes and resource samples are recorded, when monitoring is on. */
  monitoring?: ExecutorMonitoring | undefined;
  /** The run resumes an earlier one in `run` (Config.resume): HTEX adopts what that left on its blocks. */
  resumed?: boolean;
}

/** Spawns the manager actor of `executor` as a child of `parent`; it reports to `dfk`. */
export function spawnExecutorManager(parent: Ref<unknown>, executor: Executor, dfk: Ref<FromExecutor>, context: ExecutorContext): Ref<ToExecutor> {
  switch (executor.kind) {
    case 'threads':
      return spawnThreadExecutor(parent, dfk, (executor as ThreadPoolExecutor).options);
    case 'htex':
      return spawnLazyHtexManager(parent, dfk, (executor as HighThroughputExecutor).options, context);
  }
}

/** Spawns the manager that runs join apps in the DFK's own thread. */
export { spawnMainThreadExecutor };

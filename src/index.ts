/**
 * parsl-ts: Parsl's parallel scripting for TypeScript.
 *
 * ```ts
 * import { app, load } from 'parsl-ts';
 *
 * const double = app((x: number) => x * 2);
 * const add = app((a: number, b: number) => a + b);
 *
 * await using _ = load();          // worker threads, one per core
 * console.log(await add(double(2), double(3)));  // 10
 * ```
 */
export { app, bashApp, joinApp } from './apps/app.ts';
export { AppFuture, DataFuture } from './apps/future.ts';
export { File } from './staging/file.ts';
export { load, dfk, clear, waitForCurrentTasks } from './load.ts';
export { DataFlowKernel } from './actors/kernel.ts';
export { Config } from './config/config.ts';
export { ThreadPoolExecutor } from './executors/thread-executor.ts';
export { FINAL_STATES } from './dataflow/states.ts';
export {
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
  ManagerLost,
  TaskCancelledError,
  TimeoutError,
  KernelClosedError,
  RemoteFailure,
} from './errors.ts';

export type { App, AppArgs, AppOptions, Arg, Dep, Joined, ParslCallOptions } from './apps/app.ts';
export type { TaskState } from './dataflow/states.ts';
export type { ConfigOptions, RetryHandler, RetryTaskInfo } from './config/config.ts';
export type { Executor } from './executors/executor.ts';
export type { ThreadPoolExecutorOptions, ResolvedThreadPoolExecutorOptions } from './executors/thread-executor.ts';
export type { KernelState } from './actors/kernel.ts';
export type { SerializedError } from './errors.ts';

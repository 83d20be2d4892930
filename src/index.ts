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
 *
 * The user guide is docs/README.md; every export below is documented where it is defined.
 *
 * @packageDocumentation
 */
export { app, bashApp, joinApp } from './apps/app.ts';
export { mapWindowed } from './apps/map-windowed.ts';
export { AppFuture, DataFuture } from './apps/future.ts';
export { taskSignal } from './worker/task-context.ts';
export { File } from './staging/file.ts';
export {
  StagingError,
  NoOpFileStaging,
  HTTPSeparateTaskStaging,
  HTTPInTaskStaging,
  FTPSeparateTaskStaging,
  FTPInTaskStaging,
  SFTPStaging,
  RSyncStaging,
  ZipFileStaging,
  GlobusStaging,
  NatsObjectStaging,
  GlobusApiError,
  GlobusAuthError,
  defaultGlobusTokenPath,
  globusTokenSource,
  chooseStagingProvider,
  defaultStorageAccess,
  stageIn,
  stageOut,
} from './staging/index.ts';
export type {
  StagingProvider,
  StageOptions,
  StageCallOptions,
  StagingChannel,
  HTTPStagingOptions,
  SFTPStagingOptions,
  RSyncStagingOptions,
  GlobusStagingOptions,
  NatsObjectStagingOptions,
} from './staging/index.ts';
export { load, dfk, clear, waitForCurrentTasks } from './kernel/load.ts';
export { DataFlowKernel } from './kernel/kernel.ts';
export { Config } from './config/config.ts';
export { AUTO_LOGNAME } from './dataflow/run-dir.ts';
export { getAllCheckpoints, getLastCheckpoint } from './dataflow/checkpoint-store.ts';
export { configFromEnvironment } from './config/from-environment.ts';
export { ThreadPoolExecutor } from './executors/thread-executor.ts';
export { HighThroughputExecutor } from './executors/htex.ts';
export {
  LocalProvider,
  AdHocProvider,
  SlurmProvider,
  PBSProProvider,
  TorqueProvider,
  CondorProvider,
  GridEngineProvider,
  LSFProvider,
  CobaltProvider,
  KubernetesProvider,
  TERMINAL_JOB_STATES,
  SubmitError,
  JobStatusError,
  JobCancelError,
  ProviderCommandError,
  SimpleLauncher,
  SingleNodeLauncher,
  WrappedLauncher,
  GnuParallelLauncher,
  SrunLauncher,
  SrunMPILauncher,
  AprunLauncher,
  JsrunLauncher,
  MpiExecLauncher,
  MpiRunLauncher,
} from './providers/index.ts';
export { LocalChannel } from './providers/channels/local.ts';
export { SSHChannel } from './providers/channels/ssh.ts';
export { SSHInteractiveLoginChannel } from './providers/channels/ssh-interactive.ts';
export {
  ChannelConnectError,
  ChannelAuthError,
  HostKeyUnknownError,
  HostKeyChangedError,
  HostKeyRevokedError,
  ChannelDisconnectedError,
  ChannelClosedError,
  ChannelTransferError,
  LoginPromptError,
} from './providers/channels/ssh-errors.ts';
export { ChannelTimeoutError } from './providers/channels/errors.ts';
export { FINAL_STATES } from './apps/task-states.ts';
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
  BashHelperLost,
  ManagerLost,
  SiteLost,
  BlockStartError,
  TaskCancelledError,
  TimeoutError,
  KernelClosedError,
  RemoteFailure,
} from './common/errors.ts';

export type { App, AppArgs, AppOptions, Arg, Dep, Joined, ParslCallOptions } from './apps/app.ts';
export type { TaskState } from './apps/task-states.ts';
export type { MapWindowedOptions } from './apps/map-windowed.ts';
export type { ConfigOptions, RetryHandler, RetryTaskInfo } from './config/config.ts';
export type { Executor } from './executors/executor.ts';
export type { ThreadPoolExecutorOptions, ResolvedThreadPoolExecutorOptions } from './executors/thread-executor.ts';
export type {
  HighThroughputExecutorOptions,
  ResolvedHighThroughputExecutorOptions,
} from './executors/htex.ts';
export type {
  ExecutionProvider,
  JobState,
  JobStatus,
  SubmitOptions,
  ResolvedProviderOptions,
  Launcher,
  LocalProviderOptions,
  AdHocProviderOptions,
  AdHocHost,
  SlurmProviderOptions,
  PBSProProviderOptions,
  TorqueProviderOptions,
  CondorProviderOptions,
  GridEngineProviderOptions,
  LSFProviderOptions,
  CobaltProviderOptions,
  KubernetesProviderOptions,
} from './providers/index.ts';
export type { Channel, ExecResult, ExecOptions } from './providers/channels/channel.ts';
export type { KernelState } from './kernel/kernel.ts';
export type { SerializedError } from './common/errors.ts';
// Monitoring: the options a later step puts in Config, and the query API for notebooks and scripts.
export { siteCredential } from './nats/leaf.ts';
export type { SiteCredential, Login } from './nats/leaf.ts';
export { MonitoringHub } from './monitoring/hub.ts';
export { MonitoringDatabase } from './monitoring/database.ts';
export type { MonitoringHubOptions } from './monitoring/hub.ts';
export type {
  WorkflowSummary,
  TimelineTry,
  TaskGraph,
  AppSummary,
  FailureGroup,
  TaskDetails,
  TaskTry,
  FileTail,
  Resources,
  ResourceSeries,
} from './monitoring/database-types.ts';
export type { StatesOverTime } from './monitoring/views.ts';

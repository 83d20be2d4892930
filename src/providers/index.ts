/** Execution providers, their errors and launchers (channels are in ./channels/). */
export { TERMINAL_JOB_STATES } from './provider.ts';
export { SubmitError, JobStatusError, JobCancelError, ProviderCommandError } from './errors.ts';
export { BaseProvider, ClusterProvider } from './cluster.ts';
export { LocalProvider } from './local.ts';
export { AdHocProvider } from './adhoc.ts';
export { SlurmProvider } from './slurm.ts';
export { PBSProProvider } from './pbspro.ts';
export { TorqueProvider } from './torque.ts';
export { CondorProvider } from './condor.ts';
export { GridEngineProvider } from './gridengine.ts';
export { LSFProvider } from './lsf.ts';
export { CobaltProvider } from './cobalt.ts';
export { KubernetesProvider } from './kubernetes.ts';
export * from './launchers/index.ts';

export type { ExecutionProvider, JobState, JobStatus, ResolvedProviderOptions, SubmitOptions } from './provider.ts';
export type { JobRecord, JobSpec, StatusUpdate } from './cluster.ts';
export type { LocalProviderOptions } from './local.ts';
export type { AdHocProviderOptions, AdHocHost } from './adhoc.ts';
export type { SlurmProviderOptions } from './slurm.ts';
export type { PBSProProviderOptions } from './pbspro.ts';
export type { TorqueProviderOptions } from './torque.ts';
export type { CondorProviderOptions } from './condor.ts';
export type { GridEngineProviderOptions } from './gridengine.ts';
export type { LSFProviderOptions } from './lsf.ts';
export type { CobaltProviderOptions } from './cobalt.ts';
export type { KubernetesProviderOptions } from './kubernetes.ts';

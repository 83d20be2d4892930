/** Launchers: how a block's command is started on its nodes. */
export { isLauncher } from './launcher.ts';
export { SimpleLauncher, SingleNodeLauncher, WrappedLauncher, GnuParallelLauncher } from './simple.ts';
export { SrunLauncher, SrunMPILauncher } from './slurm.ts';
export { AprunLauncher, JsrunLauncher, MpiExecLauncher, MpiRunLauncher } from './mpi.ts';

export type { Launcher } from './launcher.ts';
export type { SingleNodeLauncherOptions, WrappedLauncherOptions, GnuParallelLauncherOptions } from './simple.ts';
export type { SrunLauncherOptions, SrunMPILauncherOptions } from './slurm.ts';
export type { AprunLauncherOptions, JsrunLauncherOptions, MpiExecLauncherOptions, MpiRunLauncherOptions } from './mpi.ts';

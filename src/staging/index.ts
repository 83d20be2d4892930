/** Data staging: File, the provider contract, the providers, and the chooser. */
export { File } from './file.ts';
export { StagingError } from './errors.ts';
export { NoOpFileStaging, outputLocalPath, type StageOptions, type StagingProvider } from './provider.ts';
export { HTTPInTaskStaging, HTTPSeparateTaskStaging } from './http.ts';
export { FTPInTaskStaging, FTPSeparateTaskStaging } from './ftp.ts';
export { SFTPStaging, type SFTPStagingOptions } from './sftp.ts';
export { RSyncStaging, type RSyncStagingOptions } from './rsync.ts';
export { ZipFileStaging } from './zip.ts';
export { GlobusStaging, GlobusApiError, type GlobusStagingOptions } from './globus.ts';
export type { StagingChannel } from './ssh-channel.ts';
export { chooseStagingProvider, defaultStorageAccess, stageIn, stageOut, type StageCallOptions } from './staging.ts';

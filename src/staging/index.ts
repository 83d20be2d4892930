/**
 * Data staging: `File`, the provider contract (Parsl's, camelCase), the providers, and the
 * chooser. An executor's `storageAccess` lists providers; the first whose `canStageIn` /
 * `canStageOut` accepts a file stages it (`chooseStagingProvider`). The DataFlowKernel runs
 * these as stage-in and stage-out tasks of the graph (dataflow/staging-plan.ts), or in the
 * worker for `inTask` providers (staging/in-task.ts); they can also be called directly:
 *
 * ```ts
 * // Parsl's default list (no-op, FTP, HTTP, plus zip): HTTP(S) and FTP in, zip in and out.
 * await stageIn(new File('https://example.org/data.csv#sha256=…'), workDir);   // checksum checked
 * await stageIn(new File('ftp://ftp.example.org/pub/x.dat'), workDir);          // anonymous unless user:pw@
 * await stageIn(new File('zip:/data/runs.zip/inner/table.csv'), workDir);      // → workDir/inner/table.csv
 *
 * // Through an SSH channel (its key and known_hosts): SFTP and rsync, in and out.
 * const channel = new SSHChannel({ hostname: 'login.hpc.org', username: 'me', privateKeyPath: '~/.ssh/id_ed25519' });
 * const storageAccess = [new NoOpFileStaging(), new SFTPStaging({ channels: [channel] }), new RSyncStaging({ channels: [channel] })];
 * await stageIn(new File('sftp://me@login.hpc.org/home/me/in.txt'), workDir, { storageAccess });
 * await stageOut(new File('rsync://me@login.hpc.org/scratch/me/out.txt'), workDir, { storageAccess }); // sends workDir/out.txt
 *
 * // Globus, through the Transfer API with a token; the local endpoint sees localPath as endpointPath.
 * const globus = new GlobusStaging({ token, endpointUuid: LOCAL_EP, localPath: '/scratch', endpointPath: '/~/scratch' });
 * await globus.stageIn(new File('globus://REMOTE_EP/~/data/in.txt'), '/scratch/run1');
 * ```
 *
 * // nats://BUCKET/NAME: through the run's JetStream object store, from a task at one site to a task at another.
 * const storageAccess = [new NoOpFileStaging(), new NatsObjectStaging()];   // on each site's HighThroughputExecutor
 *
 * Every stage-in writes to a temporary name beside the target and renames it when complete
 * (size and checksum checked); concurrent stage-ins of one URL to one place in a process fetch
 * it once; HTTP and FTP resume a cut transfer from where it stopped (Range / REST).
 */
export { File } from './file.ts';
export { StagingError } from './errors.ts';
export { NoOpFileStaging, outputLocalPath, type StageOptions, type StagingProvider } from './provider.ts';
export { HTTPInTaskStaging, HTTPSeparateTaskStaging, type HTTPStagingOptions } from './http.ts';
export { FTPInTaskStaging, FTPSeparateTaskStaging } from './ftp.ts';
export { SFTPStaging, type SFTPStagingOptions } from './sftp.ts';
export { RSyncStaging, type RSyncStagingOptions } from './rsync.ts';
export { ZipFileStaging } from './zip.ts';
export { GlobusStaging, GlobusApiError, type GlobusStagingOptions } from './globus.ts';
export { NatsObjectStaging, type NatsObjectStagingOptions } from './nats-object.ts';
export { GlobusAuthError, defaultGlobusTokenPath, globusTokenSource } from './globus-auth.ts';
export type { StagingChannel } from './ssh-channel.ts';
export { chooseStagingProvider, defaultStorageAccess, stageIn, stageOut, type StageCallOptions } from './staging.ts';

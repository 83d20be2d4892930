/**
 * In-task staging (Parsl's `HTTPInTaskStaging`, `FTPInTaskStaging`, `RSyncStaging`): the
 * worker that runs the task stages its files before and after the app, on its own file
 * system. The provider chosen in the driver cannot travel to a worker thread or a block (it is
 * a class instance; SSH channels hold connections), so it travels as plain data, an
 * `InTaskProviderSpec`, and the worker rebuilds it with `inTaskProviderOf`. Only providers
 * listed here can run in a task; another with `inTask: true` is refused when the call is made.
 */
import { StagingError } from './errors.ts';
import type { File } from './file.ts';
import { FTPInTaskStaging } from './ftp.ts';
import { HTTPInTaskStaging } from './http.ts';
import { NatsObjectStaging } from './nats-object.ts';
import type { StagingProvider } from './provider.ts';
import { RSyncStaging } from './rsync.ts';
import type { StagingChannel } from './ssh-channel.ts';

/** The plain-data form of an in-task provider, rebuilt in the worker. */
export type InTaskProviderSpec =
  | { name: 'HTTPInTaskStaging'; ca?: string | undefined }
  | { name: 'FTPInTaskStaging' }
  | { name: 'NatsObjectStaging'; chunkSize?: number | undefined }
  | { name: 'RSyncStaging'; channel: StagingChannel['options'] & { description: string }; rsyncPath: string };

/** What the worker does for one file of a task: stage it in before the app, or out after. */
export interface InTaskStaging {
  direction: 'in' | 'out';
  /** Where the local copy lives (Parsl's executor `working_dir`). */
  workDir: string;
  provider: InTaskProviderSpec;
}

/** The names `inTaskSpecOf` accepts, for errors. */
const WORKER_PROVIDERS = ['HTTPInTaskStaging', 'FTPInTaskStaging', 'RSyncStaging', 'NatsObjectStaging'];

/**
 * The plain-data form of `provider` for staging `file`; throws a `StagingError` naming the URL
 * when the provider has none (it can only stage in the driver).
 */
export function inTaskSpecOf(provider: StagingProvider, file: File, direction: 'in' | 'out'): InTaskProviderSpec {
  if (provider instanceof RSyncStaging) {
    const { channel, rsyncPath } = provider.workerForm(file, direction);
    const { hostname, port, username, privateKeyPath, knownHostsPath } = channel.options;
    return { name: 'RSyncStaging', channel: { description: channel.description, hostname, port, username, privateKeyPath, knownHostsPath }, rsyncPath };
  }
  if (provider instanceof HTTPInTaskStaging) return { name: 'HTTPInTaskStaging', ca: provider.options.ca };
  if (provider.name === 'FTPInTaskStaging') return { name: 'FTPInTaskStaging' };
  if (provider instanceof NatsObjectStaging) return { name: 'NatsObjectStaging', chunkSize: provider.options.chunkSize };
  throw new StagingError(
    file.url,
    direction,
    `${provider.name} has inTask: true but cannot run in a worker (workers rebuild only ${WORKER_PROVIDERS.join(', ')}); ` +
      'give it inTask: false to stage in a separate task',
  );
}

/** Providers rebuilt in this thread, by spec: one per spec, so that kept-alive connections are shared. */
const rebuilt = new Map<string, StagingProvider>();

/** Rebuilds an in-task provider in the worker (once per spec in a thread). */
export function inTaskProviderOf(spec: InTaskProviderSpec): StagingProvider {
  const key = JSON.stringify(spec);
  let provider = rebuilt.get(key);
  if (!provider) rebuilt.set(key, (provider = build(spec)));
  return provider;
}

function build(spec: InTaskProviderSpec): StagingProvider {
  switch (spec.name) {
    case 'HTTPInTaskStaging':
      return new HTTPInTaskStaging({ ca: spec.ca });
    case 'FTPInTaskStaging':
      return new FTPInTaskStaging();
    case 'NatsObjectStaging':
      return new NatsObjectStaging({ chunkSize: spec.chunkSize });
    case 'RSyncStaging':
      return new RSyncStaging({ channels: [optionsOnlyChannel(spec.channel)], rsyncPath: spec.rsyncPath, inTask: true });
  }
}

/** rsync runs its own ssh: of the channel it needs only the options (host, port, key, known_hosts). */
function optionsOnlyChannel(options: StagingChannel['options'] & { description: string }): StagingChannel {
  const unavailable = (): never => {
    throw new Error(`${options.description}: only rsync's own ssh is available in a worker`);
  };
  return { description: options.description, options, exec: unavailable, push: unavailable, pull: unavailable, makeDirs: unavailable };
}

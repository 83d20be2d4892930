/**
 * What SFTP and rsync staging need of an SSH channel. `SSHChannel` (src/providers/channels)
 * has all of it; it is named here by shape only, as staging sits below providers.
 */
import type { File } from './file.ts';

/**
 * What SFTP and rsync staging need of an SSH channel: an `SSHChannel` has all of it.
 *
 * @example
 * ```ts
 * const channel: StagingChannel = new SSHChannel({ hostname: 'data.example.org' });
 * new SFTPStaging({ channels: [channel] });
 * ```
 */
export interface StagingChannel {
  /** `ssh user@host:port`, for errors. */
  readonly description: string;
  /** Where the channel connects, to match files' URLs against. */
  readonly options: {
    /** The server's host name. */
    readonly hostname: string;
    /** The server's SSH port. */
    readonly port: number;
    /** The login name. */
    readonly username: string;
    /** The private key file, for rsync's own ssh. */
    readonly privateKeyPath?: string | undefined;
    /** The known_hosts file host keys are checked against. */
    readonly knownHostsPath: string;
  };
  /** Runs a command on the host. */
  exec(command: string, options?: { timeoutMs?: number }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Copies a local file into `remoteDir`; resolves with the remote path. */
  push(localPath: string, remoteDir: string): Promise<string>;
  /** Copies a remote file into `localDir`; resolves with the local path. */
  pull(remotePath: string, localDir: string): Promise<string>;
  /** Makes a remote directory and its parents. */
  makeDirs(path: string): Promise<void>;
}

export interface ChannelChoice {
  /** Channels to remote hosts: a file goes through the one whose host, port (and user, if the URL names one) match. @default [] */
  channels?: StagingChannel[];
  /** Or pick the channel yourself; undefined means "cannot stage this file". @default none: matched from `channels` */
  channelFor?: (file: File) => StagingChannel | undefined;
}

/** The channel for `file`: by `channelFor`, else the first of `channels` that matches its host, port and user. */
export function findChannel(choice: ChannelChoice, file: File): StagingChannel | undefined {
  if (choice.channelFor) return choice.channelFor(file);
  return choice.channels?.find(
    (channel) =>
      channel.options.hostname === file.hostname &&
      channel.options.port === (file.port ?? 22) &&
      (file.username === undefined || file.username === channel.options.username),
  );
}

/** The remote path of a URL: `/~/x` (written `sftp://host/~/x`) is `~/x`, relative to the login directory. */
export function remotePath(file: File): string {
  return file.path.startsWith('/~/') ? file.path.slice(1) : file.path;
}

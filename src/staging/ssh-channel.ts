/**
 * What SFTP and rsync staging need of an SSH channel. `SSHChannel` (src/providers/channels)
 * has all of it; it is named here by shape only, as staging sits below providers.
 */
import type { File } from './file.ts';

export interface StagingChannel {
  /** `ssh user@host:port`, for errors. */
  readonly description: string;
  readonly options: {
    readonly hostname: string;
    readonly port: number;
    readonly username: string;
    readonly privateKeyPath?: string | undefined;
    readonly knownHostsPath: string;
  };
  exec(command: string, options?: { timeoutMs?: number }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  push(localPath: string, remoteDir: string): Promise<string>;
  pull(remotePath: string, localDir: string): Promise<string>;
  makeDirs(path: string): Promise<void>;
}

export interface ChannelChoice {
  /** Channels to remote hosts: a file goes through the one whose host, port (and user, if the URL names one) match. */
  channels?: StagingChannel[];
  /** Or pick the channel yourself; undefined means "cannot stage this file". */
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

/**
 * A channel runs commands and moves files where a provider's scheduler lives: this machine
 * (`LocalChannel`) or a login node over SSH (`SSHChannel`). Providers talk to schedulers only
 * through a channel, never through child_process, so every provider works both ways.
 */

/** What a command left behind. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the command and reject with `ChannelTimeoutError` after this long. */
  timeoutMs?: number;
  /** Extra environment variables for the command. */
  env?: Record<string, string>;
  /** Working directory of the command. */
  cwd?: string;
}

export interface Channel {
  /** Where submit scripts are written on the far side. */
  readonly scriptDir: string;
  /** A short description for errors and logs, e.g. `ssh user@host:22`. */
  readonly description: string;
  /** Runs a command line under a shell; resolves whatever its exit code. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Copies a local file to `remoteDir` on the far side; resolves with its remote path. */
  push(localPath: string, remoteDir: string): Promise<string>;
  /** Copies a remote file into `localDir`; resolves with its local path. */
  pull(remotePath: string, localDir: string): Promise<string>;
  /** Creates a directory (and parents) on the far side. */
  makeDirs(path: string): Promise<void>;
  /** Writes `content` to a file on the far side (mode defaults to 0o644). */
  writeFile(remotePath: string, content: string, mode?: number): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

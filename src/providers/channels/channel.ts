/**
 * A channel runs commands and moves files where a provider's scheduler lives: this machine
 * (`LocalChannel`) or a login node over SSH (`SSHChannel`). Providers talk to schedulers only
 * through a channel, never through child_process, so every provider works both ways.
 */

/**
 * What a command left behind.
 *
 * @example
 * ```ts
 * const result: ExecResult = await new LocalChannel().exec('hostname');
 * console.log(result.exitCode, result.stdout.trim());
 * ```
 */
export interface ExecResult {
  /** The command's exit status. */
  exitCode: number;
  /** What it printed on stdout. */
  stdout: string;
  /** What it printed on stderr. */
  stderr: string;
}

/**
 * Options of one `Channel.exec` call.
 *
 * @example
 * ```ts
 * const options: ExecOptions = { timeoutMs: 5_000 };
 * await new LocalChannel().exec('sleep 1', options);
 * ```
 */
export interface ExecOptions {
  /** Kill the command and reject with `ChannelTimeoutError` after this long (ms). @default none: no limit */
  timeoutMs?: number;
  /** Extra environment variables for the command. @default {} */
  env?: Record<string, string>;
  /** Working directory of the command. @default the login directory (SSH) or this process's (local) */
  cwd?: string;
}

/**
 * Where a provider runs its scheduler commands and keeps its submit scripts: this machine (`LocalChannel`) or a login node over SSH (`SSHChannel`, `SSHInteractiveLoginChannel`).
 *
 * @example
 * ```ts
 * const channel: Channel = new LocalChannel();
 * const { exitCode, stdout } = await channel.exec('squeue -u $USER');
 * ```
 */
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

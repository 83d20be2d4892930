/**
 * `SSHChannel`: runs a provider's scheduler commands on a login node over SSH (ssh2), and moves
 * files there over SFTP. One connection per channel carries every command (ssh2 multiplexes
 * sessions on it); a dropped connection is opened again on the next call.
 *
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org', username: 'me', privateKeyPath: '~/.ssh/id_ed25519' });
 * const { stdout } = await channel.exec('squeue --me', { timeoutMs: 30_000 });
 * await channel.close();
 * ```
 */
import { mkdir, stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { inspect } from 'node:util';
import type { AnyAuthMethod, Client as SSHClient } from 'ssh2';
import { ConfigError } from '../../common/errors.ts';
import type { Channel, ExecOptions, ExecResult } from './channel.ts';
import { ChannelTimeoutError } from './errors.ts';
import { defaultAuthMethods, type AuthContext } from './ssh-auth.ts';
import { openConnection, type Connection, type ConnectionOwner } from './ssh-connection.ts';
import { ChannelClosedError } from './ssh-errors.ts';
import { commandLine, runCommand } from './ssh-exec.ts';
import { resolveSSHChannelOptions, type ResolvedSSHChannelOptions, type SSHChannelOptions } from './ssh-options.ts';
import { SessionSlots } from './ssh-session-slots.ts';
import { isDirectory, sftpCall, sftpPath, withSftp } from './ssh-sftp.ts';

export type { AuthContext } from './ssh-auth.ts';
export type { ResolvedSSHChannelOptions, SSHChannelOptions } from './ssh-options.ts';

/**
 * Runs commands on a remote host over SSH and moves files there with SFTP.
 *
 * - Authentication: `privateKey`/`privateKeyPath` (with `passphrase`), an agent, and `password`,
 *   in that order; with none given, `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` and `$SSH_AUTH_SOCK`.
 * - Host keys are checked against an OpenSSH known_hosts file (hashed entries included) under
 *   `hostKeyPolicy` `'strict'` (the default) or `'accept-new'`.
 * - Commands run under the remote user's login shell (which must be POSIX-like: sh, bash, zsh,
 *   ksh), as with `ssh host command`, with stdin from /dev/null; `env` and `cwd` are applied with
 *   `export` and `cd`. A command that times out, or whose connection drops, is killed with its
 *   process group (see `commandLine`).
 * - One connection carries every call, up to `maxSessions` sessions at once; a connection that
 *   dropped is opened again by the next call. A command cut off by a drop rejects with
 *   `ChannelDisconnectedError` and is not retried: it may have had effects.
 * - Call `close()` when done: an open connection keeps the process alive.
 *
 * @example
 * ```ts
 * new SlurmProvider({
 *   channel: new SSHChannel({ hostname: 'login.cluster.org', username: 'jdoe', privateKeyPath: '~/.ssh/id_ed25519' }),
 * });
 * ```
 */
export class SSHChannel implements Channel {
  /** The options, validated, with defaults filled in (credentials included: not shown by `console.log` or `JSON.stringify`). */
  readonly options: ResolvedSSHChannelOptions;
  readonly scriptDir: string;
  readonly description: string;
  private current: Connection | undefined;
  private readonly slots: SessionSlots;
  private closed = false;
  private connectionsOpened = 0;
  /** What exec and SFTP use of this channel. */
  private readonly owner: ConnectionOwner;

  constructor(options: SSHChannelOptions) {
    // A subclass with options of its own validates them under its own name.
    this.options = (new.target as typeof SSHChannel).resolveOptions(options);
    this.scriptDir = this.options.scriptDir;
    this.description = `ssh ${this.options.username}@${this.options.hostname}:${this.options.port}`;
    this.slots = new SessionSlots(this.options.maxSessions);
    this.owner = {
      description: this.description,
      slots: this.slots,
      isClosed: () => this.closed,
      connection: () => this.connection(),
    };
  }

  /** Validates the constructor's options; subclasses with options of their own override it. */
  protected static resolveOptions(options: unknown): ResolvedSSHChannelOptions {
    return resolveSSHChannelOptions(options as SSHChannelOptions);
  }

  /** How many SSH connections this channel has opened so far (1 while the first one lives). */
  get connectionCount(): number {
    return this.connectionsOpened;
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    // Made here, before any await, so that its stack points at the caller.
    const timeoutError = options.timeoutMs === undefined ? undefined : new ChannelTimeoutError(command, options.timeoutMs, this.description);
    if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
      throw new ConfigError('exec options.timeoutMs', `must be a positive number of milliseconds; got ${options.timeoutMs}`);
    }
    for (const [name, value] of Object.entries(options.env ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ConfigError(`exec options.env.${name}`, 'is not a valid environment variable name');
      if (typeof value !== 'string') throw new ConfigError(`exec options.env.${name}`, `must be a string; got ${typeof value}`);
    }
    if (this.closed) throw new ChannelClosedError(this.description);
    const line = commandLine(command, options);
    const abort = new AbortController();
    const timer = timeoutError && setTimeout(() => abort.abort(timeoutError), options.timeoutMs);
    try {
      return await runCommand(this.owner, line, command, abort.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  async push(localPath: string, remoteDir: string): Promise<string> {
    const target = posix.join(remoteDir, basename(localPath));
    await this.makeDirs(remoteDir);
    await withSftp(this.owner, 'push', target, async (sftp) => {
      const { mode } = await stat(localPath);
      await sftpCall<void>((done) => sftp.fastPut(localPath, sftpPath(target), { mode: mode & 0o7777 }, done));
    });
    return target;
  }

  async pull(remotePath: string, localDir: string): Promise<string> {
    const target = join(localDir, posix.basename(remotePath));
    await withSftp(this.owner, 'pull', remotePath, async (sftp) => {
      await mkdir(localDir, { recursive: true });
      await sftpCall<void>((done) => sftp.fastGet(sftpPath(remotePath), target, done));
    });
    return target;
  }

  async makeDirs(path: string): Promise<void> {
    await withSftp(this.owner, 'makeDirs', path, async (sftp) => {
      const full = sftpPath(path);
      if (await isDirectory(sftp, full)) return;
      const parts = full.split('/');
      for (let i = 1; i <= parts.length; i++) {
        const prefix = parts.slice(0, i).join('/');
        if (prefix === '' || prefix === '.') continue;
        try {
          await sftpCall<void>((done) => sftp.mkdir(prefix, done));
        } catch (error) {
          // OpenSSH answers a generic failure when the directory exists: look before giving up.
          if (!(await isDirectory(sftp, prefix))) throw error;
        }
      }
    });
  }

  async writeFile(remotePath: string, content: string, mode = 0o644): Promise<void> {
    await withSftp(this.owner, 'writeFile', remotePath, async (sftp) => {
      const path = sftpPath(remotePath);
      await sftpCall<void>((done) => sftp.writeFile(path, content, { mode }, done));
      // The mode given at creation is filtered by the server's umask and ignored for existing files.
      await sftpCall<void>((done) => sftp.chmod(path, mode, done));
    });
  }

  /**
   * The logged-in ssh2 client (a new connection if the last one dropped), for what rides on the
   * connection beside commands: a reverse tunnel (`ReverseTunnel`). Its 'close' says it dropped.
   */
  async sshClient(): Promise<SSHClient> {
    return (await this.connection()).client;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.slots.failAll(new ChannelClosedError(this.description));
    const connection = this.current;
    this.current = undefined;
    if (!connection) return;
    if (!connection.loggedIn) {
      connection.cancel(new ChannelClosedError(this.description));
      return;
    }
    await new Promise<void>((resolve) => {
      if (connection.closed) return resolve();
      connection.client.once('close', () => resolve());
      connection.client.end();
      // A server that never answers the disconnect must not hold close() up.
      setTimeout(() => connection.client.destroy(), 2_000).unref();
    });
  }

  /** `await using channel = new SSHChannel(…)` closes the connection at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Logs show where the channel goes, never its password, passphrase or key. */
  [inspect.custom](): string {
    return `${this.constructor.name} { ${this.description} }`;
  }

  /** What `JSON.stringify` shows: the type, `user@host:port` and the script directory, never the credentials. */
  toJSON(): { type: string; description: string; scriptDir: string } {
    return { type: this.constructor.name, description: this.description, scriptDir: this.scriptDir };
  }

  /**
   * The authentication methods to try, in order. A subclass appends its own (keyboard-interactive)
   * and may use `context` to stop the connect timeout while a person answers.
   */
  protected async authMethods(context: AuthContext): Promise<AnyAuthMethod[]> {
    return defaultAuthMethods(this.options, context);
  }

  /** Resolves with a logged-in connection: the current one, or a new one if there is none or it dropped. */
  private connection(): Promise<Connection> {
    if (this.closed) return Promise.reject(new ChannelClosedError(this.description));
    if (!this.current || this.current.closed) {
      this.connectionsOpened++;
      this.current = openConnection(this.options, this.description, (context) => this.authMethods(context), (gone) => {
        if (this.current === gone) this.current = undefined;
      });
    }
    const connection = this.current;
    return connection.ready.then(() => connection);
  }
}

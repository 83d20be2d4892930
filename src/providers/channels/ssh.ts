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
import { readFile, mkdir, stat } from 'node:fs/promises';
import { homedir, userInfo, constants as osConstants } from 'node:os';
import { basename, join, posix } from 'node:path';
import { inspect } from 'node:util';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, ClientChannel, ConnectConfig, ParsedKey, SFTPWrapper, ServerHostKeyAlgorithm } from 'ssh2';
import { z } from 'zod';
import { ConfigError, ParslError } from '../../common/errors.ts';
import { parseOptions } from '../../common/validate.ts';
import type { Channel, ExecOptions, ExecResult } from './channel.ts';
import { ChannelTimeoutError } from './errors.ts';
import {
  ChannelAuthError,
  ChannelClosedError,
  ChannelConnectError,
  ChannelDisconnectedError,
  ChannelTransferError,
  HostKeyChangedError,
  HostKeyRevokedError,
  HostKeyUnknownError,
  type HostKeyFacts,
} from './ssh-errors.ts';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintOf,
  hostsFieldMatches,
  keyTypeOf,
  knownHostsLine,
  knownHostsName,
  readKnownHosts,
} from './known-hosts.ts';

const { Client, utils } = ssh2;
type SSHClient = InstanceType<typeof Client>;

/** @default 22 */
export const DEFAULT_SSH_PORT = 22;
/** Relative to the remote login directory, where both commands and SFTP start. @default '.parsl-ts/scripts' */
export const DEFAULT_SSH_SCRIPT_DIR = '.parsl-ts/scripts';
/** @default 20_000 */
export const DEFAULT_SSH_CONNECT_TIMEOUT_MS = 20_000;
/** @default 15_000 */
export const DEFAULT_SSH_KEEPALIVE_INTERVAL_MS = 15_000;
/** OpenSSH's own `MaxSessions` default. @default 10 */
export const DEFAULT_SSH_MAX_SESSIONS = 10;
/** An idle SFTP session is closed after this long, giving its session slot back. */
const SFTP_IDLE_MS = 2_000;
/** Keys tried, in this order, when no key is given (as OpenSSH and Parsl's paramiko do). */
const DEFAULT_IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
/** ssh2's host key algorithms, best first; those of keys already in known_hosts are moved to the front. */
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Expands a leading `~` of a local path. */
function expandHome(path: string): string {
  if (path === '~') return homedir();
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/** The options both SSH channels share; `SSHInteractiveLoginChannel` adds its own. */
export const sshChannelShape = {
  /** Host to connect to. */
  hostname: z.string().min(1),
  /** @default 22 */
  port: z.number().int().min(1).max(65535).default(DEFAULT_SSH_PORT),
  /** Login name on the far side. @default the local user's name */
  username: z.string().min(1).optional(),
  /** A private key (OpenSSH or PEM text). Exclusive with `privateKeyPath`. */
  privateKey: z.union([z.string().min(1), z.instanceof(Buffer)]).optional(),
  /** Path of a private key file (`~` is expanded). @default ~/.ssh/id_ed25519, id_ecdsa, id_rsa (those that exist) when no key, password or agent is given */
  privateKeyPath: z.string().min(1).transform(expandHome).optional(),
  /** Passphrase of an encrypted private key. */
  passphrase: z.string().optional(),
  /** Password for `password` authentication (and a single hidden keyboard-interactive prompt). */
  password: z.string().optional(),
  /** ssh-agent socket path, `true` for `$SSH_AUTH_SOCK`, `false` for none. @default $SSH_AUTH_SOCK when set */
  agent: z.union([z.string().min(1), z.boolean()]).optional(),
  /** Remote directory for submit scripts; relative paths are under the remote login directory. @default '.parsl-ts/scripts' */
  scriptDir: z.string().min(1).default(DEFAULT_SSH_SCRIPT_DIR),
  /** OpenSSH known_hosts file used to check the server's host key (`~` is expanded). @default ~/.ssh/known_hosts */
  knownHostsPath: z.string().min(1).transform(expandHome).optional(),
  /**
   * `'strict'`: refuse a host whose key is not in known_hosts. `'accept-new'`: trust a new host's key on
   * first use and append it to known_hosts. Both refuse a host whose key changed. @default 'strict'
   */
  hostKeyPolicy: z.enum(['strict', 'accept-new']).default('strict'),
  /** Time to connect and log in, prompts answered by a person excluded. @default 20_000 */
  connectTimeoutMs: z.number().int().positive().default(DEFAULT_SSH_CONNECT_TIMEOUT_MS),
  /** SSH keepalive period, so a silently dead connection is noticed; 0 turns it off. @default 15_000 */
  keepaliveIntervalMs: z.number().int().nonnegative().default(DEFAULT_SSH_KEEPALIVE_INTERVAL_MS),
  /** Sessions (commands, SFTP) open at once on the connection; more wait their turn. Lowered by itself if the server allows fewer. @default 10 */
  maxSessions: z.number().int().positive().max(1000).default(DEFAULT_SSH_MAX_SESSIONS),
};

/** Shared refinements of the SSH channel schemas. */
export function refineSSHOptions(options: { privateKey?: unknown; privateKeyPath?: unknown }, ctx: z.RefinementCtx): void {
  if (options.privateKey !== undefined && options.privateKeyPath !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['privateKeyPath'], message: "'privateKey' and 'privateKeyPath' are mutually exclusive" });
  }
}

const sshChannelSchema = z.object(sshChannelShape).strict().superRefine(refineSSHOptions);

/** Options of `SSHChannel`, as the user gives them. */
export type SSHChannelOptions = z.input<typeof sshChannelSchema>;

/** Options of an SSH channel with every default filled in. */
export interface ResolvedSSHChannelOptions {
  hostname: string;
  port: number;
  username: string;
  privateKey: string | Buffer | undefined;
  privateKeyPath: string | undefined;
  passphrase: string | undefined;
  password: string | undefined;
  /** Resolved agent socket path, or undefined for none. */
  agent: string | undefined;
  scriptDir: string;
  knownHostsPath: string;
  hostKeyPolicy: 'strict' | 'accept-new';
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  maxSessions: number;
}

/** Validates SSH channel options and fills defaults; throws `ConfigError` naming the option. */
export function resolveSSHChannelOptions(options: SSHChannelOptions, root = 'SSHChannel'): ResolvedSSHChannelOptions {
  return fillSSHDefaults(parseOptions(sshChannelSchema, options, root), root);
}

/** The local user's name, as ssh takes it by default (a uid without a passwd entry has none). */
function localUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'root';
  }
}

/** Fills the defaults that depend on the machine (user name, home, agent socket). */
export function fillSSHDefaults(parsed: z.output<typeof sshChannelSchema>, root: string): ResolvedSSHChannelOptions {
  let agent: string | undefined;
  if (typeof parsed.agent === 'string') agent = parsed.agent;
  else if (parsed.agent === true) {
    agent = process.env.SSH_AUTH_SOCK;
    if (!agent) throw new ConfigError(`${root}.agent`, 'is true but SSH_AUTH_SOCK is not set; give the agent socket path instead');
  } else if (parsed.agent === undefined) agent = process.env.SSH_AUTH_SOCK || undefined;
  return {
    hostname: parsed.hostname,
    port: parsed.port,
    username: parsed.username ?? localUsername(),
    privateKey: parsed.privateKey,
    privateKeyPath: parsed.privateKeyPath,
    passphrase: parsed.passphrase,
    password: parsed.password,
    agent,
    scriptDir: parsed.scriptDir,
    knownHostsPath: parsed.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts'),
    hostKeyPolicy: parsed.hostKeyPolicy,
    connectTimeoutMs: parsed.connectTimeoutMs,
    keepaliveIntervalMs: parsed.keepaliveIntervalMs,
    maxSessions: parsed.maxSessions,
  };
}

/** What a subclass gets to build its authentication methods for one connection attempt. */
export interface AuthContext {
  username: string;
  /** Runs `work` (e.g. a person typing a code) with the connect timeout stopped meanwhile. */
  withoutTimeout<T>(work: () => Promise<T>): Promise<T>;
  /** Ends the attempt with `error` (e.g. a prompt that could not be answered). */
  fail(error: Error): void;
}

/** One SSH connection and what hangs on it. */
interface Connection {
  readonly client: SSHClient;
  /** Resolves once logged in. */
  ready: Promise<void>;
  /** Set once logged in. */
  loggedIn: boolean;
  /** Set once the socket closed; the channel then opens a new connection for the next call. */
  closed: boolean;
  sftp: SftpSession | undefined;
  /** Gives up a connection attempt that is still under way. */
  cancel(error: Error): void;
}

interface SftpSession {
  session: Promise<SFTPWrapper>;
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * Counts open sessions against `limit`; callers beyond it wait in order. The limit drops to what
 * the server really allows when it refuses a session while others are open.
 */
class SessionSlots {
  private active = 0;
  private readonly waiting: Array<{ grant: () => void; fail: (error: unknown) => void }> = [];
  constructor(private limit: number) {}

  get open(): number {
    return this.active;
  }

  /** Resolves with a release function once a slot is free; rejects with `signal.reason` if aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.limit) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const onAbort = (): void => waiter.fail(signal!.reason);
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take());
        },
        fail: (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** The server refused a session while `open` others were open: that is its limit. */
  shrink(): void {
    this.limit = Math.max(1, Math.min(this.limit, this.active));
  }

  /** Rejects everyone still waiting. */
  failAll(error: Error): void {
    for (const waiter of [...this.waiting]) waiter.fail(error);
  }

  private take(): () => void {
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      while (this.active < this.limit && this.waiting.length > 0) this.waiting.shift()!.grant();
    };
  }
}

/** A timeout that can be stopped while a person answers a prompt. */
class PausableTimer {
  private remaining: number;
  private startedAt = 0;
  private handle: NodeJS.Timeout | undefined;
  private pauses = 0;
  private done = false;
  constructor(ms: number, private readonly onFire: () => void) {
    this.remaining = ms;
    this.start();
  }
  pause(): void {
    if (this.done || this.pauses++ > 0) return;
    clearTimeout(this.handle);
    this.remaining -= Date.now() - this.startedAt;
  }
  resume(): void {
    if (this.done || --this.pauses > 0) return;
    this.start();
  }
  clear(): void {
    this.done = true;
    clearTimeout(this.handle);
  }
  private start(): void {
    this.startedAt = Date.now();
    this.handle = setTimeout(() => {
      this.done = true;
      this.onFire();
    }, Math.max(0, this.remaining));
  }
}

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
 */
export class SSHChannel implements Channel {
  readonly options: ResolvedSSHChannelOptions;
  readonly scriptDir: string;
  readonly description: string;
  private current: Connection | undefined;
  private readonly slots: SessionSlots;
  private closed = false;
  private connectionsOpened = 0;

  constructor(options: SSHChannelOptions) {
    // A subclass with options of its own validates them under its own name.
    this.options = (new.target as typeof SSHChannel).resolveOptions(options);
    this.scriptDir = this.options.scriptDir;
    this.description = `ssh ${this.options.username}@${this.options.hostname}:${this.options.port}`;
    this.slots = new SessionSlots(this.options.maxSessions);
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
      return await this.runCommand(line, command, abort.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  async push(localPath: string, remoteDir: string): Promise<string> {
    const target = posix.join(remoteDir, basename(localPath));
    await this.makeDirs(remoteDir);
    await this.withSftp('push', target, async (sftp) => {
      const { mode } = await stat(localPath);
      await sftpCall<void>((done) => sftp.fastPut(localPath, sftpPath(target), { mode: mode & 0o7777 }, done));
    });
    return target;
  }

  async pull(remotePath: string, localDir: string): Promise<string> {
    const target = join(localDir, posix.basename(remotePath));
    await this.withSftp('pull', remotePath, async (sftp) => {
      await mkdir(localDir, { recursive: true });
      await sftpCall<void>((done) => sftp.fastGet(sftpPath(remotePath), target, done));
    });
    return target;
  }

  async makeDirs(path: string): Promise<void> {
    await this.withSftp('makeDirs', path, async (sftp) => {
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
    await this.withSftp('writeFile', remotePath, async (sftp) => {
      const path = sftpPath(remotePath);
      await sftpCall<void>((done) => sftp.writeFile(path, content, { mode }, done));
      // The mode given at creation is filtered by the server's umask and ignored for existing files.
      await sftpCall<void>((done) => sftp.chmod(path, mode, done));
    });
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Logs show where the channel goes, never its password, passphrase or key. */
  [inspect.custom](): string {
    return `${this.constructor.name} { ${this.description} }`;
  }

  toJSON(): { type: string; description: string; scriptDir: string } {
    return { type: this.constructor.name, description: this.description, scriptDir: this.scriptDir };
  }

  /**
   * The authentication methods to try, in order. A subclass appends its own (keyboard-interactive)
   * and may use `context` to stop the connect timeout while a person answers.
   */
  protected async authMethods(context: AuthContext): Promise<AnyAuthMethod[]> {
    const { username } = context;
    const o = this.options;
    const methods: AnyAuthMethod[] = [];
    if (o.privateKey !== undefined || o.privateKeyPath !== undefined) {
      let text: string | Buffer;
      const what = o.privateKeyPath ?? 'privateKey';
      if (o.privateKey !== undefined) text = o.privateKey;
      else {
        try {
          text = await readFile(o.privateKeyPath!);
        } catch (error) {
          throw new ConfigError('SSHChannel.privateKeyPath', `cannot read ${o.privateKeyPath}: ${(error as Error).message}`, { cause: error });
        }
      }
      const key = utils.parseKey(text, o.passphrase);
      if (key instanceof Error) {
        const path = o.privateKeyPath !== undefined ? 'SSHChannel.privateKeyPath' : 'SSHChannel.privateKey';
        const hint = /encrypted|passphrase/i.test(key.message) ? ' (is passphrase right?)' : '';
        throw new ConfigError(path, `cannot use key ${what}: ${key.message}${hint}`, { cause: key });
      }
      methods.push({ type: 'publickey', username, key: firstKey(key) });
    } else if (o.password === undefined) {
      for (const name of DEFAULT_IDENTITY_FILES) {
        let text: Buffer;
        try {
          text = await readFile(join(homedir(), '.ssh', name));
        } catch {
          continue;
        }
        const key = utils.parseKey(text, o.passphrase);
        // An encrypted default key without a passphrase is skipped, as ssh in batch mode does.
        if (!(key instanceof Error)) methods.push({ type: 'publickey', username, key: firstKey(key) });
      }
    }
    if (o.agent !== undefined) methods.push({ type: 'agent', username, agent: o.agent });
    if (o.password !== undefined) {
      const password = o.password;
      methods.push({ type: 'password', username, password });
      // Servers that take passwords only through PAM ask for them with keyboard-interactive.
      methods.push({
        type: 'keyboard-interactive',
        username,
        prompt: (_name, _instructions, _lang, prompts, finish) => {
          if (prompts.length === 0) return finish([]);
          if (prompts.length === 1 && prompts[0]!.echo !== true) return finish([password]);
          // Anything else (a second factor) needs SSHInteractiveLoginChannel: answer nothing.
          return finish(prompts.map(() => ''));
        },
      });
    }
    return methods;
  }

  /** Resolves with a logged-in connection: the current one, or a new one if there is none or it dropped. */
  private connection(): Promise<Connection> {
    if (this.closed) return Promise.reject(new ChannelClosedError(this.description));
    if (!this.current || this.current.closed) this.current = this.openConnection();
    const connection = this.current;
    return connection.ready.then(() => connection);
  }

  private openConnection(): Connection {
    const client = new Client();
    const connection: Connection = {
      client,
      ready: Promise.resolve(),
      loggedIn: false,
      closed: false,
      sftp: undefined,
      cancel: () => {},
    };
    this.connectionsOpened++;
    const o = this.options;
    const where = this.description;
    const hostName = knownHostsName(o.hostname, o.port);
    const tried: AuthenticationType[] = [];
    let failure: Error | undefined;
    let settled = false;

    connection.ready = new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        failure ??= error;
        if (settled) return;
        settled = true;
        timer.clear();
        reject(failure);
        client.destroy();
      };
      const timer = new PausableTimer(o.connectTimeoutMs, () =>
        fail(new ChannelConnectError(where, `not connected and logged in within ${o.connectTimeoutMs} ms (connectTimeoutMs)`)),
      );
      // Always listen for errors: an 'error' without a listener would crash the process.
      client.on('error', (error: Error & { level?: string }) => {
        if (settled) return;
        // A failure we recorded (host key, prompt, no credentials) explains more than ssh2's message.
        if (failure !== undefined) fail(failure);
        else if (error.level === 'client-authentication') fail(new ChannelAuthError(where, tried, error.message, { cause: error }));
        else fail(new ChannelConnectError(where, error.message, { cause: error }));
      });
      client.on('ready', () => {
        if (settled) return;
        settled = true;
        connection.loggedIn = true;
        timer.clear();
        resolve();
      });
      connection.cancel = fail;
      client.on('connect', () => client.setNoDelay(true));
      const gone = (): void => {
        connection.closed = true;
        if (connection.sftp) clearTimeout(connection.sftp.idleTimer);
        connection.sftp = undefined;
        if (this.current === connection) this.current = undefined;
        fail(new ChannelConnectError(where, 'the server closed the connection before login'));
      };
      // 'end' (the server's side closed) comes before 'close': from then on no session can be opened.
      client.on('end', gone);
      client.on('close', gone);

      const context: AuthContext = {
        username: o.username,
        withoutTimeout: async (work) => {
          timer.pause();
          try {
            return await work();
          } finally {
            timer.resume();
          }
        },
        fail,
      };
      void (async () => {
        const methods = await this.authMethods(context);
        const hostKeyAlgorithms = await this.hostKeyAlgorithms(hostName);
        let next = 0;
        const config: ConnectConfig = {
          host: o.hostname,
          port: o.port,
          username: o.username,
          readyTimeout: 0, // our own PausableTimer instead
          keepaliveInterval: o.keepaliveIntervalMs,
          keepaliveCountMax: 3,
          algorithms: { serverHostKey: hostKeyAlgorithms },
          hostVerifier: ((key: Buffer, verify: (valid: boolean) => void) => {
            this.verifyHostKey(hostName, key).then(
              () => verify(true),
              (error: Error) => {
                failure ??= error;
                verify(false);
              },
            );
          }) as ConnectConfig['hostVerifier'],
          authHandler: (methodsLeft, _partialSuccess, callback) => {
            while (next < methods.length) {
              const method = methods[next++]!;
              // After the first attempt the server lists what it still accepts (with partial success: the second factor).
              if (methodsLeft && !methodsLeft.includes(method.type)) continue;
              tried.push(method.type);
              callback(method);
              return;
            }
            if (methods.length === 0) {
              failure ??= new ChannelAuthError(
                where,
                [],
                'no credentials: give privateKey or privateKeyPath, password or agent, or put a key in ~/.ssh/id_ed25519',
              );
            }
            (callback as unknown as (method: false) => void)(false);
          },
        };
        if (!settled) client.connect(config);
      })().catch((error: unknown) => fail(error instanceof Error ? error : new Error(String(error))));
    });
    // A failed attempt must not stay current: the next call tries again.
    connection.ready.catch(() => {
      if (this.current === connection) this.current = undefined;
    });
    return connection;
  }

  /** Host key algorithms with the types known_hosts already holds for this host first (as OpenSSH orders them). */
  private async hostKeyAlgorithms(hostName: string): Promise<ServerHostKeyAlgorithm[]> {
    let entries;
    try {
      entries = await readKnownHosts(this.options.knownHostsPath);
    } catch {
      return HOST_KEY_ALGORITHMS;
    }
    const preferred: ServerHostKeyAlgorithm[] = [];
    for (const entry of entries) {
      if (entry.marker !== undefined || !hostsFieldMatches(entry.hosts, hostName)) continue;
      const algorithms: ServerHostKeyAlgorithm[] =
        entry.keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : HOST_KEY_ALGORITHMS.filter((a) => a === entry.keyType);
      for (const a of algorithms) if (!preferred.includes(a)) preferred.push(a);
    }
    return [...preferred, ...HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
  }

  /** Resolves if known_hosts trusts `key` for the host (appending it first under 'accept-new'); rejects with why not. */
  private async verifyHostKey(hostName: string, key: Buffer): Promise<void> {
    const o = this.options;
    const entries = await readKnownHosts(o.knownHostsPath);
    const verdict = checkHostKey(entries, hostName, key);
    const facts: HostKeyFacts = { host: hostName, keyType: keyTypeOf(key), fingerprint: fingerprintOf(key), knownHostsPath: o.knownHostsPath };
    switch (verdict.status) {
      case 'known':
        return;
      case 'revoked':
        throw new HostKeyRevokedError(facts, verdict.entry.line);
      case 'changed':
        throw new HostKeyChangedError(
          facts,
          verdict.entries.map((e) => ({ line: e.line, keyType: e.keyType, fingerprint: fingerprintOf(e.key) })),
        );
      case 'unknown':
        if (o.hostKeyPolicy === 'strict') throw new HostKeyUnknownError(facts, knownHostsLine(hostName, key), o.port, o.hostname);
        await appendKnownHost(o.knownHostsPath, hostName, key);
        return;
    }
  }

  /**
   * Opens an exec session and collects what the command leaves. A session that could not be
   * opened because the connection had dropped (the command never started) is tried again on a
   * new connection; one the server refused for its session limit waits for a free slot.
   */
  private async runCommand(line: string, command: string, signal: AbortSignal): Promise<ExecResult> {
    for (let reconnects = 0, refusedAlone = 0; ; ) {
      const connection = await abortable(this.connection(), signal);
      const release = await this.slots.acquire(signal);
      const opening = openExec(connection, line);
      let stream: ClientChannel;
      try {
        stream = await abortable(opening, signal);
      } catch (error) {
        if (signal.aborted && error === signal.reason) {
          // The session may still open and start the command: kill it then, and only then free its slot.
          opening.then(
            (late) => {
              late.once('close', release);
              stopCommand(late);
            },
            () => release(),
          );
          throw error;
        }
        release();
        const execFailed = error instanceof Error && error.message === 'Unable to exec';
        if (!execFailed && connection.closed && !this.closed && reconnects++ < 2) continue;
        if (isSessionRefused(error) && this.slots.open > 0) {
          this.slots.shrink();
          continue;
        }
        if (isSessionRefused(error) && refusedAlone < REFUSED_ALONE_RETRIES) {
          // Refused with none of ours open: the server has not yet freed the sessions that just
          // closed on our side (OpenSSH under load, at MaxSessions). Try again a little later.
          await abortable(new Promise((resolve) => setTimeout(resolve, 50 * 2 ** refusedAlone++).unref()), signal);
          continue;
        }
        if (this.closed) throw new ChannelClosedError(this.description);
        if (connection.closed) throw new ChannelDisconnectedError(command, this.description, { cause: error });
        throw new ChannelConnectError(this.description, `could not start a session for the command: ${(error as Error).message}`, { cause: error });
      }
      // The slot is given back when the session has closed, not when a timeout rejects.
      stream.once('close', release);
      return await this.collect(stream, connection, command, signal);
    }
  }

  private collect(stream: ClientChannel, connection: Connection, command: string, signal: AbortSignal): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      stream.setEncoding('utf8');
      stream.stderr.setEncoding('utf8');
      stream.on('data', (chunk: string) => (stdout += chunk));
      stream.stderr.on('data', (chunk: string) => (stderr += chunk));
      const onAbort = (): void => {
        stopCommand(stream);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      stream.on('close', () => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return reject(signal.reason);
        const exit = exitStatuses.get(stream);
        if (exit !== undefined) return resolve({ exitCode: exit.code ?? signalExitCode(exit.signal), stdout, stderr });
        if (this.closed) return reject(new ChannelClosedError(this.description));
        const why = connection.closed ? undefined : new Error('the server closed the session without an exit status');
        reject(new ChannelDisconnectedError(command, this.description, why && { cause: why }));
      });
    });
  }

  /** Runs `work` on the connection's SFTP session (opened on first use, closed after a short idle time). */
  private async withSftp(operation: ChannelTransferError['operation'], path: string, work: (sftp: SFTPWrapper) => Promise<void>): Promise<void> {
    if (this.closed) throw new ChannelClosedError(this.description);
    let session: SftpSession | undefined;
    try {
      for (let reconnects = 0; ; ) {
        const connection = await this.connection();
        session = connection.sftp ??= this.openSftp(connection);
        session.users++;
        clearTimeout(session.idleTimer);
        let sftp: SFTPWrapper;
        try {
          sftp = await session.session;
        } catch (error) {
          this.doneWithSftp(connection, session);
          session = undefined;
          if (connection.closed && !this.closed && reconnects++ < 2) continue;
          throw error;
        }
        try {
          return await work(sftp);
        } finally {
          this.doneWithSftp(connection, session);
        }
      }
    } catch (error) {
      // Our own errors (closed, connect, auth, host key, config) say more than a wrapper would.
      if (error instanceof ParslError) throw error;
      throw new ChannelTransferError(operation, path, this.description, { cause: error });
    }
  }

  private openSftp(connection: Connection): SftpSession {
    const entry: SftpSession = { session: Promise.resolve(undefined as unknown as SFTPWrapper), users: 0, idleTimer: undefined };
    entry.session = (async () => {
      const release = await this.slots.acquire();
      try {
        const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
          try {
            connection.client.sftp((error, sftp) => (error ? reject(error) : resolve(sftp)));
          } catch (error) {
            reject(error);
          }
        });
        sftp.once('close', () => {
          release();
          if (connection.sftp === entry) connection.sftp = undefined;
        });
        return sftp;
      } catch (error) {
        release();
        if (connection.sftp === entry) connection.sftp = undefined;
        throw error;
      }
    })();
    return entry;
  }

  private doneWithSftp(connection: Connection, session: SftpSession): void {
    if (--session.users > 0 || connection.sftp !== session) return;
    session.idleTimer = setTimeout(() => {
      if (session.users > 0 || connection.sftp !== session) return;
      connection.sftp = undefined;
      session.session.then((sftp) => sftp.end(), () => {});
    }, SFTP_IDLE_MS);
    session.idleTimer.unref();
  }
}

/**
 * Stops a running command: a KILL signal request (which OpenSSH honours for non-root users), then
 * end-of-file on the session's stdin, on which the watchdog of `commandLine` kills the process group.
 */
function stopCommand(stream: ClientChannel): void {
  try {
    stream.signal('KILL');
    stream.end();
    stream.close();
  } catch {}
}

/** ssh2 parses a key file into one key, or an array for some formats: take the first. */
function firstKey(key: ParsedKey | ParsedKey[]): ParsedKey {
  return Array.isArray(key) ? key[0]! : key;
}

/** How often a session refused while none of ours is open is tried again (waits 50 ms, 100 ms, … 1.6 s). */
const REFUSED_ALONE_RETRIES = 6;

/** OpenSSH refuses a session beyond `MaxSessions` with "open failed" (reason 2, or 1 on some servers). */
function isSessionRefused(error: unknown): boolean {
  const reason = (error as { reason?: unknown } | undefined)?.reason;
  return error instanceof Error && /Channel open failure/.test(error.message) && (reason === 1 || reason === 2 || reason === 4);
}

/**
 * Exit statuses seen by `openExec`. A quick command's exit-status can arrive in the same read as
 * the reply to the exec request: ssh2 then emits 'exit' before `collect` (a few awaits later)
 * listens, and the status was lost ("connection lost while running: true" at load).
 */
const exitStatuses = new WeakMap<ClientChannel, { code: number | null; signal: string | undefined }>();

function openExec(connection: Connection, line: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      connection.client.exec(line, (error, stream) => {
        if (error) return reject(error);
        stream.once('exit', (code: number | null, signalName?: string) => exitStatuses.set(stream, { code, signal: signalName }));
        resolve(stream);
      });
    } catch (error) {
      // ssh2 throws 'Not connected' at once when the socket has already gone.
      reject(error);
    }
  });
}

/** Rejects with `signal.reason` as soon as it aborts; `promise` itself goes on. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The exit code a shell reports for a command killed by `signal` (e.g. 'KILL' → 137). */
function signalExitCode(signal: string | undefined): number {
  const number = signal ? (osConstants.signals as Record<string, number | undefined>)[`SIG${signal}`] : undefined;
  return 128 + (number ?? 0);
}

/** Single-quotes a word for a POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The script sent to the server's login shell (POSIX sh, bash, zsh, ksh). The command runs in a
 * subshell with stdin from /dev/null, after `export K='v'` and `cd 'dir'` (if given: a failing
 * `cd` skips it). A watchdog reads the session's stdin and kills the whole process group
 * (`kill -9 0`: sshd starts each command in a session of its own) once that stdin ends, which
 * happens when the client times the command out or closes the session, or when the connection
 * drops. OpenSSH's own `signal` request is not enough: it refuses it for root logins ("session
 * signalling requires privilege separation") and ssh2 sends it only while stdin is open.
 */
export function commandLine(command: string, options: ExecOptions): string {
  const setup: string[] = [];
  const env = Object.entries(options.env ?? {});
  if (env.length > 0) setup.push(`export ${env.map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')}`);
  if (options.cwd !== undefined) setup.push(`cd ${remoteShellPath(options.cwd)}`);
  // The newline before ')' ends a trailing comment of the command; 'exit' in it leaves only the subshell.
  const run = command.trim() === '' ? ':' : `(\n${command}\n)`;
  return [
    'exec 3<&0 </dev/null',
    // An asynchronous list gets /dev/null as stdin: the watchdog reads the session through fd 3.
    '{ while read -r _ <&3; do :; done; kill -9 0; } &',
    '__parsl_ts_watchdog=$!',
    'exec 3<&-',
    setup.length > 0 ? `${setup.join(' && ')} && ${run}` : run,
    '__parsl_ts_status=$?',
    'kill $__parsl_ts_watchdog 2>/dev/null',
    'exit $__parsl_ts_status',
  ].join('\n');
}

/** A remote path for the shell, with a leading `~/` left to the shell to expand. */
function remoteShellPath(path: string): string {
  if (path === '~') return '~';
  return path.startsWith('~/') ? `~/${shellQuote(path.slice(2))}` : shellQuote(path);
}

/** SFTP starts in the login directory and does not expand `~`: `~/x` becomes `x`. */
function sftpPath(path: string): string {
  if (path === '~') return '.';
  return path.startsWith('~/') ? path.slice(2) || '.' : path;
}

function sftpCall<T>(start: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value as T))));
}

async function isDirectory(sftp: SFTPWrapper, path: string): Promise<boolean> {
  try {
    const attrs = await sftpCall<{ isDirectory(): boolean }>((done) => sftp.stat(path, done));
    return attrs.isDirectory();
  } catch {
    return false;
  }
}

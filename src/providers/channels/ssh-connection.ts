/**
 * One SSH connection of an `SSHChannel`: connect, check the host key against known_hosts, log in,
 * all under one connect timeout; and what hangs on the connection once it is up.
 */
import { createRequire } from 'node:module';
import type * as Ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, ConnectConfig, SFTPWrapper, ServerHostKeyAlgorithm } from 'ssh2';
import type { AuthContext } from './ssh-auth.ts';
import {
  ChannelAuthError,
  ChannelConnectError,
  HostKeyChangedError,
  HostKeyRevokedError,
  HostKeyUnknownError,
  type HostKeyFacts,
} from './ssh-errors.ts';
import type { ResolvedSSHChannelOptions } from './ssh-options.ts';
import type { SessionSlots } from './ssh-session-slots.ts';
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

// Loaded when first used (~85 ms): most runs never open an SSH channel.
const ssh2 = (): typeof Ssh2 => createRequire(import.meta.url)('ssh2') as typeof Ssh2;
type SSHClient = InstanceType<typeof Ssh2.Client>;

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

/** One SSH connection and what hangs on it. */
export interface Connection {
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

/** The SFTP session of a connection, shared by the transfers under way. */
export interface SftpSession {
  session: Promise<SFTPWrapper>;
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/** What exec and SFTP need from the channel that owns the connection. */
export interface ConnectionOwner {
  readonly description: string;
  readonly slots: SessionSlots;
  /** True once the channel was closed. */
  isClosed(): boolean;
  /** A logged-in connection: the current one, or a new one if there is none or it dropped. */
  connection(): Promise<Connection>;
}

/**
 * Starts one connection: host key checked against known_hosts, the `authMethods` tried in order,
 * all within `connectTimeoutMs` (paused while a person answers a prompt). `forget` is called
 * when the connection is of no more use (closed, or its login failed) so the owner opens another.
 */
export function openConnection(
  o: ResolvedSSHChannelOptions,
  where: string,
  authMethods: (context: AuthContext) => Promise<AnyAuthMethod[]>,
  forget: (connection: Connection) => void,
): Connection {
  const client = new (ssh2().Client)();
  const connection: Connection = {
    client,
    ready: Promise.resolve(),
    loggedIn: false,
    closed: false,
    sftp: undefined,
    cancel: () => {},
  };
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
      forget(connection);
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
      const methods = await authMethods(context);
      const hostKeyAlgorithms = await preferredHostKeyAlgorithms(o.knownHostsPath, hostName);
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
          verifyHostKey(o, hostName, key).then(
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
    forget(connection);
  });
  return connection;
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

/** Host key algorithms with the types known_hosts already holds for this host first (as OpenSSH orders them). */
async function preferredHostKeyAlgorithms(knownHostsPath: string, hostName: string): Promise<ServerHostKeyAlgorithm[]> {
  let entries;
  try {
    entries = await readKnownHosts(knownHostsPath);
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
async function verifyHostKey(o: ResolvedSSHChannelOptions, hostName: string, key: Buffer): Promise<void> {
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

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { canConnect } from '../common/can-connect.ts';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ParslError } from '../common/errors.ts';

/** `nats-server` is not installed, or failed to start. */
export class NatsServerError extends ParslError {}

export interface NatsServerOptions {
  /** Client port; `-1` picks a free one. @default -1 */
  port?: number;
  /** Turn JetStream on, with its store in `storeDir`. @default true */
  jetstream?: boolean;
  /** JetStream domain (needed when sites are joined as leaf nodes). */
  domain?: string;
  /** Where the server keeps its files (config, ports file, JetStream store, log). @default a new temp dir */
  dir?: string;
  /** Clients must log in with this user and password. */
  auth?: { user: string; password: string };
  /**
   * Accounts apart from the one `auth` logs in to: each site's room (its leaf and the DFK's
   * connection to it share one account, and see nothing of any other). With accounts, `auth` is
   * required: its user goes into an account `HUB` with JetStream on.
   */
  accounts?: Record<string, { users: NatsUser[] }>;
  /**
   * A leaf-node listener, for sites whose leaf nodes dial in. `port` must be given: nats-server
   * 2.9 does not write a picked leaf-node port in its ports file. `users`: each leaf's login and
   * the account it is bound to; a leaf without a valid one is refused (with no `users`,
   * nats-server 2.9 admits any leaf). `noAdvertise` (default true) keeps other cluster members'
   * addresses out of the INFO a leaf gets, but nats-server 2.9 still sends the listener's own
   * address in `leafnode_urls`, which a leaf adds to the URLs it redials: where leaves come
   * through an SSH tunnel, set `advertise` to the tunnel's address as the sites see it
   * (`127.0.0.1:PORT`) so that a redial never goes around the tunnel.
   */
  leafnodes?: { host?: string; port: number; noAdvertise?: boolean; advertise?: string; users?: LeafUser[] };
  /** Address the client port listens on: a site's leaf must be reachable from its compute nodes. @default '127.0.0.1' */
  host?: string;
  /**
   * Run the server inside this network namespace (`ip netns exec NAME`, root only): a site in a
   * test. The port is then not probed from here; the ports file, written once every listener is
   * up, says the server is ready.
   */
  netns?: string;
  /** Extra lines for the configuration file (cluster, leafnodes…). */
  extraConfig?: string;
  /** @default 'nats-server' on PATH (and /usr/sbin, where Debian puts it) */
  binary?: string;
  /** How long to wait for the server to accept connections. @default 10000 */
  startTimeoutMs?: number;
}

/** A user of the server and what it may publish and subscribe to (nats-server `permissions`). */
export interface NatsUser {
  user: string;
  password: string;
  permissions?: {
    publish?: { allow?: string[]; deny?: string[] };
    subscribe?: { allow?: string[]; deny?: string[] };
  };
}

/** A leaf node's login at the hub, bound to one account. */
export interface LeafUser {
  user: string;
  password: string;
  account: string;
}

/** Where to look for nats-server besides PATH: Debian installs it in /usr/sbin. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];

/** How long a server that keeps its store gets to flush it after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;

/**
 * Set once the driver is ending (returned, threw, was signalled): servers stopped from then on
 * keep their directory, JetStream store included, for a later driver to restart on. Kept on
 * `globalThis` so that every copy of parsl-ts loaded in the process sees it.
 */
const RETAIN_KEY = Symbol.for('parsl-ts.retain-nats-stores');

/** From now on, stopping a server keeps its store on disk (the driver is ending). */
export function retainStoresOnStop(): void {
  (globalThis as Record<symbol, unknown>)[RETAIN_KEY] = true;
}

function retainingStores(): boolean {
  return (globalThis as Record<symbol, unknown>)[RETAIN_KEY] === true;
}

/**
 * `setpriv` (util-linux) starts the server with a parent-death signal: if this process dies
 * without a word (kill -9, OOM), the kernel sends the server SIGTERM and it flushes its store and
 * exits. The signal fires when the spawning *thread* exits, so spawn from the main thread.
 * `undefined` where there is no setpriv (macOS): a watchdog process stands in.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => process.platform === 'linux' && existsSync(path));

/** Finds the nats-server binary, or throws saying how to install it. */
export function findNatsServer(binary = 'nats-server'): string {
  if (binary.includes('/')) {
    if (existsSync(binary)) return binary;
  } else {
    for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS]) {
      if (dir && existsSync(join(dir, binary))) return join(dir, binary);
    }
  }
  throw new NatsServerError(
    `nats-server not found on PATH. The HighThroughputExecutor starts its own NATS server when no ` +
      `nats.servers are given: install it (Debian/Ubuntu: apt-get install nats-server; elsewhere: ` +
      `the nats-server release binary), or point the executor at a running server with nats: { servers: [...] }.`,
  );
}

/**
 * A `nats-server` process on loopback: the HighThroughputExecutor's embedded default, and
 * what the tests start. JetStream is on, its store in a temporary directory.
 */
export class NatsServer {
  readonly dir: string;
  readonly #options: NatsServerOptions;
  readonly #ownsDir: boolean;
  #child: ChildProcess | undefined;
  #watchdog: ChildProcess | undefined;
  #port: number;
  #stderr = '';

  private constructor(options: NatsServerOptions) {
    this.#options = options;
    this.#ownsDir = options.dir === undefined;
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'parsl-ts-nats-'));
    this.#port = options.port ?? -1;
  }

  /** Starts a server and waits until it accepts connections. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const server = new NatsServer(options);
    try {
      await server.#launch();
    } catch (error) {
      server.#cleanup();
      throw error;
    }
    return server;
  }

  get port(): number {
    return this.#port;
  }

  /** `nats://HOST:PORT` (127.0.0.1 for a server listening on every address) */
  get url(): string {
    return `nats://${this.#probeHost}:${this.#port}`;
  }

  get #probeHost(): string {
    const host = this.#options.host ?? '127.0.0.1';
    return host === '0.0.0.0' ? '127.0.0.1' : host;
  }

  /** The leaf-node port sites dial, when the server has a leaf-node listener. */
  get leafnodePort(): number | undefined {
    return this.#options.leafnodes?.port;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The end of the server's log, to show when something failed. */
  get log(): string {
    const file = join(this.dir, 'nats.log');
    return existsSync(file) ? readFileSync(file, 'utf8').slice(-4096) : this.#stderr;
  }

  async #launch(): Promise<void> {
    const binary = findNatsServer(this.#options.binary);
    const portsDir = this.dir;
    const config = [
      `listen: ${JSON.stringify(`${this.#options.host ?? '127.0.0.1'}:${this.#port}`)}`,
      `ports_file_dir: ${JSON.stringify(portsDir)}`,
      `log_file: ${JSON.stringify(join(this.dir, 'nats.log'))}`,
      `max_payload: 8MB`,
    ];
    if (this.#options.jetstream !== false) {
      const domain = this.#options.domain ? `, domain: ${JSON.stringify(this.#options.domain)}` : '';
      config.push(`jetstream { store_dir: ${JSON.stringify(join(this.dir, 'js'))}${domain} }`);
    }
    // JSON is valid nats-server configuration syntax.
    const accounts = this.#options.accounts;
    if (accounts) {
      if (!this.#options.auth) throw new NatsServerError('a NATS server with accounts needs auth (the user of its HUB account)');
      // Once accounts are named, the global account has no JetStream: the hub's user gets an account that has.
      const all = { HUB: { jetstream: 'enabled', users: [this.#options.auth] }, ...accounts };
      config.push(`accounts ${JSON.stringify(all)}`);
    } else if (this.#options.auth) {
      config.push(`authorization { users: ${JSON.stringify([this.#options.auth])} }`);
    }
    const leafnodes = this.#options.leafnodes;
    if (leafnodes) {
      const listen = JSON.stringify(`${leafnodes.host ?? '127.0.0.1'}:${leafnodes.port}`);
      const users = leafnodes.users?.length ? `, authorization { users: ${JSON.stringify(leafnodes.users)} }` : '';
      const advertise = leafnodes.advertise ? `, advertise: ${JSON.stringify(leafnodes.advertise)}` : '';
      config.push(`leafnodes { listen: ${listen}, no_advertise: ${leafnodes.noAdvertise !== false}${advertise}${users} }`);
    }
    if (this.#options.extraConfig) config.push(this.#options.extraConfig);
    const configFile = join(this.dir, 'nats.conf');
    writeFileSync(configFile, config.join('\n') + '\n', { mode: 0o600 });
    const netns = this.#options.netns;
    const command = [...(netns ? ['ip', 'netns', 'exec', netns] : []), binary, '-c', configFile];
    const child = SETPRIV
      ? spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', ...command], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    // The server never holds this process open: a driver whose script is done must be able to
    // end (the kernel holds the process while tasks are outstanding, and stops the server then).
    child.unref();
    (child.stderr as unknown as { unref(): void }).unref();
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4 * 1024 * 1024);
    });
    if (!SETPRIV && child.pid !== undefined) {
      const watchdog = startWatchdog(child.pid);
      this.#watchdog = watchdog;
      child.once('exit', () => watchdog.kill('SIGKILL'));
    }
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new NatsServerError(`nats-server exited with code ${code} at start:\n${this.log}`))),
    );
    exited.catch(() => {});
    const timeoutMs = this.#options.startTimeoutMs ?? 10_000;
    const until = Date.now() + timeoutMs;
    const portsFile = join(portsDir, `nats-server_${child.pid}.ports`);
    while (Date.now() < until) {
      if (child.exitCode !== null) await exited;
      if (this.#port < 0 && existsSync(portsFile)) {
        try {
          const ports = JSON.parse(readFileSync(portsFile, 'utf8')) as { nats?: string[] };
          const port = Number(/:(\d+)$/.exec(ports.nats?.[0] ?? '')?.[1]);
          if (port > 0) this.#port = port;
        } catch {
          // Written but not complete yet: read again.
        }
      }
      if (this.#port > 0 && (netns ? existsSync(portsFile) : await canConnect(this.#probeHost, this.#port))) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    throw new NatsServerError(`nats-server did not accept connections within ${timeoutMs} ms:\n${this.log}`);
  }

  /** Kills the server and starts it again on the same port with the same store. */
  async restart(downMs = 0): Promise<void> {
    await this.#kill('SIGKILL');
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.#launch();
  }

  /**
   * Stops the server and removes its files (if it made the directory). Once the driver is ending
   * (`retainStoresOnStop()`), the server is asked to stop (SIGTERM: it flushes its JetStream
   * store) and its directory stays.
   */
  async stop(): Promise<void> {
    if (retainingStores()) {
      await this.#kill('SIGTERM', STOP_GRACE_MS);
      return;
    }
    await this.#kill('SIGKILL');
    this.#cleanup();
  }

  async #kill(signal: NodeJS.Signals, graceMs?: number): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    this.#watchdog?.kill('SIGKILL');
    this.#watchdog = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // The child does not hold the process open; this timer does while we wait for it.
    const hold = setInterval(() => {}, 1 << 30);
    const force = graceMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      child.kill(signal);
      await gone;
    } finally {
      clearInterval(hold);
      clearTimeout(force);
    }
  }

  #cleanup(): void {
    if (this.#ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Where there is no `setpriv`: a shell that reads its stdin, a pipe from this process, and
 * terminates the server when the pipe closes, that is when this process ends, however it ends.
 */
function startWatchdog(pid: number): ChildProcess {
  const watchdog = spawn('/bin/sh', ['-c', `cat > /dev/null; kill -TERM ${pid} 2> /dev/null`], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();
  watchdog.on('error', () => {});
  return watchdog;
}


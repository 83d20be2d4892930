/**
 * A real OpenSSH server on a loopback port, started by a test and killed at its end
 * (see INFRA.md, "OpenSSH on a loopback port").
 *
 *   const sshd = await Sshd.start();
 *   // sshd.port, sshd.clientKeyPath, sshd.knownHostsLine …
 *   await sshd.stop();
 *
 * sshd runs in the foreground (`-D`) as a direct child of the test process, so its pid is the
 * listener's; every connection is served by a forked child of it (`dropConnections()` kills those).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { canConnect } from '../../src/common/can-connect.ts';
import { SSHChannel, type SSHChannelOptions } from '../../src/providers/channels/ssh.ts';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SSHD_PATH = '/usr/sbin/sshd';
const START_TIMEOUT_MS = 60_000; // a guard: sshd starts in well under a second, but not at load 20

export interface SshdOptions {
  /** Extra `sshd_config` lines, e.g. `['MaxSessions 2']`. */
  extraConfig?: string[];
  /** Reuse this port (to restart a server where clients expect it). @default a free port */
  port?: number;
  /** Users allowed to log in with the client key. @default ['root'] (the test process's user) */
  authorizedUsers?: string[];
  /** Address to listen on (a site's own veth address in a test network namespace). @default '127.0.0.1' */
  listenAddress?: string;
  /** Run sshd inside this network namespace (`ip netns exec`). */
  netns?: string;
}

/** Generates an unencrypted (or `passphrase`-protected) key pair at `path` and `path.pub`. */
export async function generateKey(path: string, type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519', passphrase = ''): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', 'parsl-ts-test', '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

/** A port that was free a moment ago (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Some machine images (this one among them) run `pyenv init -` in root's ~/.bashrc, which bash
 * also reads for commands run over ssh. Its `pyenv rehash` takes a lock file and waits 60 s
 * for it; a session killed mid-rehash (the timeout and dropped-connection tests kill sessions)
 * leaves the lock behind, and every later ssh command waits a minute. A lock older than a
 * minute is stale by pyenv's own rule: remove it.
 */
function removeStalePyenvLock(): void {
  const lock = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'shims', '.pyenv-shim');
  try {
    if (Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { force: true });
  } catch {
    // No pyenv, or no lock: nothing to do.
  }
}

export class Sshd {
  readonly host: string;
  readonly dir: string;
  readonly port: number;
  /** The server's ed25519 host key (private part) and its public line (`ssh-ed25519 AAAA… comment`). */
  readonly hostKeyPath: string;
  readonly hostPublicKey: string;
  /** A client key pair whose public part is in every authorized user's `authorized_keys`. */
  readonly clientKeyPath: string;
  readonly logPath: string;
  private child: ChildProcess;
  private readonly netns: string | undefined;
  private readonly configPath: string;
  private stderr = '';
  private exited = false;

  private constructor(fields: {
    dir: string;
    port: number;
    hostKeyPath: string;
    hostPublicKey: string;
    clientKeyPath: string;
    child: ChildProcess;
    configPath: string;
    host: string;
    netns: string | undefined;
  }) {
    this.host = fields.host;
    this.netns = fields.netns;
    this.dir = fields.dir;
    this.port = fields.port;
    this.hostKeyPath = fields.hostKeyPath;
    this.hostPublicKey = fields.hostPublicKey;
    this.clientKeyPath = fields.clientKeyPath;
    this.logPath = join(fields.dir, 'sshd.log');
    this.configPath = fields.configPath;
    this.child = fields.child;
    this.watch(fields.child);
  }

  private watch(child: ChildProcess): void {
    this.exited = false;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-1 << 20);
    });
    child.once('exit', () => {
      if (child === this.child) this.exited = true;
    });
  }

  /** Starts sshd and resolves once its port accepts connections. */
  static async start(options: SshdOptions = {}): Promise<Sshd> {
    if (!existsSync(SSHD_PATH)) throw new Error(`sshd not found at ${SSHD_PATH}: apt-get install openssh-server`);
    const dir = mkdtempSync(join(tmpdir(), 'parsl-ts-sshd-'));
    const hostKeyPath = join(dir, 'ssh_host_ed25519_key');
    const clientKeyPath = join(dir, 'id_ed25519');
    await generateKey(hostKeyPath);
    await generateKey(clientKeyPath);
    const hostPublicKey = readFileSync(`${hostKeyPath}.pub`, 'utf8').trim();
    const clientPublicKey = readFileSync(`${clientKeyPath}.pub`, 'utf8').trim();
    writeFileSync(join(dir, 'authorized_keys'), `${clientPublicKey}\n`, { mode: 0o644 });
    // sshd refuses to start without its privilege separation directory.
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    removeStalePyenvLock();

    // A port picked by the kernel can be taken by someone else before sshd binds it: retry.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = options.port ?? (await freePort());
      // sshd keeps the first value it reads for a keyword: the caller's lines go first to win.
      const config = [
        ...(options.extraConfig ?? []),
        `Port ${port}`,
        `ListenAddress ${options.listenAddress ?? '127.0.0.1'}`,
        `HostKey ${hostKeyPath}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication yes',
        'UsePAM yes',
        'Subsystem sftp internal-sftp',
        'LogLevel VERBOSE',
        // Commands must not run this machine's ~/.bashrc (see removeStalePyenvLock): with two
        // suites at once, its `pyenv rehash` waits on the other's lock and writes "cannot rehash:
        // couldn't acquire lock" to the command's stderr. bash reads ~/.bashrc for a command from
        // sshd only at SHLVL < 2 (bash's SSH_SOURCE_BASHRC); SHLVL=1 here makes it 2. Only the
        // first SetEnv line counts, so both variables go on this one.
        'SetEnv SHLVL=1 PYENV_REHASH_TIMEOUT=2',
        ...(options.authorizedUsers ? [`AllowUsers ${options.authorizedUsers.join(' ')}`] : []),
      ];
      const configPath = join(dir, 'sshd_config');
      writeFileSync(configPath, `${config.join('\n')}\n`);
      const host = options.listenAddress ?? '127.0.0.1';
      const child = spawnSshd(configPath, dir, options.netns);
      const sshd = new Sshd({ dir, port, hostKeyPath, hostPublicKey, clientKeyPath, child, configPath, host, netns: options.netns });
      try {
        await sshd.waitUntilListening();
        return sshd;
      } catch (error) {
        lastError = error;
        sshd.child.kill('SIGKILL');
        if (options.port !== undefined || !/Address already in use/.test(sshd.log())) break;
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }

  /** The known_hosts line for this server, as OpenSSH writes it for a non-default port. */
  get knownHostsLine(): string {
    const [type, blob] = this.hostPublicKey.split(/\s+/);
    return `${this.port === 22 ? this.host : `[${this.host}]:${this.port}`} ${type} ${blob}`;
  }

  /**
   * A channel that logs in to this server as root with the client key, trusting its host key
   * through a known_hosts file written into `dir` (its path is the channel's `knownHostsPath`).
   * `options` override any of it (e.g. `hostname` for a server reached at another address).
   */
  channel(dir: string, options: Partial<SSHChannelOptions> = {}): SSHChannel {
    const knownHostsPath = join(dir, 'known_hosts');
    writeFileSync(knownHostsPath, `${this.knownHostsLine}\n`);
    return new SSHChannel({
      hostname: this.host,
      port: this.port,
      username: 'root',
      privateKeyPath: this.clientKeyPath,
      knownHostsPath,
      agent: false,
      ...options,
    });
  }

  /** What sshd logged so far (the -E file) and what it wrote to stderr. */
  log(): string {
    let text = '';
    try {
      text = readFileSync(this.logPath, 'utf8');
    } catch {}
    return text + this.stderr;
  }

  /** How many logins sshd accepted so far (one per SSH connection). */
  acceptedLogins(): number {
    return (this.log().match(/Accepted \S+ for /g) ?? []).length;
  }

  /** Pids of the processes serving connections (children of the listener, and theirs). */
  connectionPids(): number[] {
    const parentOf = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // Field 4 (ppid) comes after the command name, which is in parentheses and may hold spaces.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        parentOf.set(Number(entry), ppid);
      } catch {}
    }
    const root = this.child.pid;
    const found: number[] = [];
    for (const pid of parentOf.keys()) {
      for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p)) {
        if (p === root) {
          found.push(pid);
          break;
        }
      }
    }
    return found;
  }

  /** Kills every connection's server processes (the listener stays): clients see the connection drop. */
  dropConnections(): number {
    const pids = this.connectionPids();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    return pids.length;
  }

  /** Kills the server and its connections, then starts it again on the same port with the same keys. */
  async restart(): Promise<void> {
    await this.kill();
    this.child = spawnSshd(this.configPath, this.dir, this.netns);
    this.watch(this.child);
    await this.waitUntilListening();
  }

  /** SIGKILLs the server and its connections, then removes its files. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async kill(): Promise<void> {
    this.dropConnections();
    if (this.exited) return;
    const child = this.child;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.exited = true;
  }

  private async waitUntilListening(): Promise<void> {
    const started = Date.now();
    for (;;) {
      if (this.exited) throw new Error(`sshd exited before listening on port ${this.port}:\n${this.log()}`);
      if (await canConnect(this.host, this.port)) return;
      if (Date.now() - started > START_TIMEOUT_MS) {
        throw new Error(`sshd did not listen on ${this.host}:${this.port} within ${START_TIMEOUT_MS} ms:\n${this.log()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

// Servers still running when the test process exits (a crash, an uncaught error) are killed with it.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function spawnSshd(configPath: string, dir: string, netns?: string): ChildProcess {
  const args = ['-D', '-f', configPath, '-E', join(dir, 'sshd.log')];
  // `setpriv` and `ip netns exec` exec sshd: the child's pid is still the listener's. The
  // parent-death signal ends an sshd in a namespace with a test that was killed.
  const child = netns
    ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'ip', 'netns', 'exec', netns, SSHD_PATH, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(SSHD_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}


/**
 * Debian's vsftpd on a free loopback port, anonymous and read-only, serving a directory the
 * test fills (see INFRA.md, "FTP"). The root must be root-owned, mode 755 and not writable, or
 * vsftpd refuses ("refusing to run with writable root inside chroot()").
 *
 *   const ftp = await Vsftpd.start({ maxRate: 4 << 20 });
 *   writeFileSync(join(ftp.root, 'a.txt'), 'hello');   // ftp://127.0.0.1:PORT/a.txt
 *   await ftp.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { canConnect } from '../../src/common/can-connect.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './sshd.ts';

export const VSFTPD_PATH = '/usr/sbin/vsftpd';

export class Vsftpd {
  readonly host = '127.0.0.1';
  private stderr = '';
  private exited = false;

  private constructor(
    readonly dir: string,
    readonly root: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    child.once('exit', () => (this.exited = true));
  }

  /** `maxRate`: bytes/s per anonymous transfer (vsftpd's anon_max_rate), to keep a transfer under way long enough to cut it. */
  static async start(options: { maxRate?: number } = {}): Promise<Vsftpd> {
    if (!existsSync(VSFTPD_PATH)) throw new Error(`vsftpd not found at ${VSFTPD_PATH}: apt-get install vsftpd`);
    const dir = mkdtempSync(join(tmpdir(), 'parsl-ts-vsftpd-'));
    chmodSync(dir, 0o755);
    const root = join(dir, 'root');
    const empty = join(dir, 'empty');
    mkdirSync(root, { mode: 0o755 });
    mkdirSync(empty, { mode: 0o755 });
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const pasvMin = await freePort();
      const config = [
        'listen=YES',
        'listen_ipv6=NO',
        'listen_address=127.0.0.1',
        `listen_port=${port}`,
        'background=NO',
        'anonymous_enable=YES',
        'local_enable=NO',
        'no_anon_password=YES',
        `anon_root=${root}`,
        'write_enable=NO',
        'pasv_enable=YES',
        'pasv_address=127.0.0.1',
        // A small range around a port that was free: passive data connections land there.
        `pasv_min_port=${pasvMin}`,
        `pasv_max_port=${Math.min(65535, pasvMin + 20)}`,
        'connect_from_port_20=NO',
        `secure_chroot_dir=${empty}`,
        // The commands clients sent, for tests to read (`log()`).
        'log_ftp_protocol=YES',
        'xferlog_enable=YES',
        'xferlog_std_format=NO',
        `vsftpd_log_file=${join(dir, 'vsftpd.log')}`,
        ...(options.maxRate ? [`anon_max_rate=${options.maxRate}`] : []),
      ];
      const configPath = join(dir, 'vsftpd.conf');
      writeFileSync(configPath, `${config.join('\n')}\n`, { mode: 0o600 });
      const child = spawn(VSFTPD_PATH, [configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      running.add(child);
      child.once('exit', () => running.delete(child));
      const server = new Vsftpd(dir, root, port, child);
      try {
        await server.waitUntilListening();
        return server;
      } catch (error) {
        lastError = error;
        child.kill('SIGKILL');
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }

  url(path: string): string {
    return `ftp://${this.host}:${this.port}/${path.replace(/^\/+/, '')}`;
  }

  /** What vsftpd logged: each session's FTP commands (`FTP command: Client "127.0.0.1", "REST 1048576"`). */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'vsftpd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Kills the processes serving connections (the listener stays): clients see the transfer cut. */
  dropConnections(): number {
    const pids = descendants(this.child.pid!);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    return pids.length;
  }

  async stop(): Promise<void> {
    this.dropConnections();
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitUntilListening(): Promise<void> {
    const started = Date.now();
    for (;;) {
      if (this.exited) throw new Error(`vsftpd exited before listening on port ${this.port}: ${this.stderr}`);
      if (await canConnect(this.host, this.port)) return;
      if (Date.now() - started > 10_000) throw new Error(`vsftpd did not listen on port ${this.port}: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
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


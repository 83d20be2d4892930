/**
 * A real single-node Slurm for tests (Debian slurm-wlm 22.05; see ../shared/INFRA.md): a
 * slurm.conf with free ports and every path in a temp dir, munged started if it is not running,
 * slurmctld and slurmd in the foreground (`-D`) as children of this process so that they can be
 * stopped, and clients pointed at the file through `SLURM_CONF` in the env of an `EnvChannel`.
 *
 *   const slurm = await SlurmCluster.start();
 *   const provider = new SlurmProvider({ channel: slurm.channel(), partition: slurm.partition });
 *   …
 *   await slurm.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Channel, ExecOptions, ExecResult } from '../../src/providers/channels/channel.ts';
import { LocalChannel } from '../../src/providers/channels/local.ts';
import { stopChild } from '../helpers.ts';

const SEARCH_PATH = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of a program, or undefined. */
export function which(program: string): string | undefined {
  for (const dir of SEARCH_PATH) {
    if (dir && existsSync(join(dir, program))) return join(dir, program);
  }
  return undefined;
}

/** A LocalChannel whose commands get extra environment variables (`SLURM_CONF`, `SGE_ROOT`…). */
export class EnvChannel implements Channel {
  readonly #inner: LocalChannel;
  readonly env: Record<string, string>;
  readonly scriptDir: string;
  readonly description: string;
  constructor(scriptDir: string, env: Record<string, string>) {
    this.#inner = new LocalChannel({ scriptDir });
    this.env = env;
    this.scriptDir = this.#inner.scriptDir;
    this.description = `local (${Object.keys(env).join(', ')})`;
  }
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.#inner.exec(command, { ...options, env: { ...this.env, ...options.env } });
  }
  push(localPath: string, remoteDir: string): Promise<string> {
    return this.#inner.push(localPath, remoteDir);
  }
  pull(remotePath: string, localDir: string): Promise<string> {
    return this.#inner.pull(remotePath, localDir);
  }
  makeDirs(path: string): Promise<void> {
    return this.#inner.makeDirs(path);
  }
  writeFile(remotePath: string, content: string, mode?: number): Promise<void> {
    return this.#inner.writeFile(remotePath, content, mode);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `check` every `everyMs` until it returns true; throws `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const error = new Error(`${what} (waited ${timeoutMs} ms)`);
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw error;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The last `max` characters written to a stream, for error messages. */
class Tail {
  text = '';
  constructor(readonly max = 64 * 1024) {}
  add(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-this.max);
  }
}

function mungeWorks(): boolean {
  const encoded = spawnSync('munge', ['-n'], { encoding: 'utf8', timeout: 5_000 });
  if (encoded.status !== 0) return false;
  const decoded = spawnSync('unmunge', [], { input: encoded.stdout, encoding: 'utf8', timeout: 5_000 });
  return decoded.status === 0;
}

/** Starts munged as Debian's init script would, if credentials cannot be made now; returns its pid when started here. */
async function ensureMunge(): Promise<number | undefined> {
  if (mungeWorks()) return undefined;
  const munged = which('munged');
  if (!munged) throw new Error('munged not found: apt-get install slurm-wlm munge');
  if (process.getuid?.() !== 0) throw new Error('munged is not running and only root can start it here: start it, or run the tests as root');
  mkdirSync('/run/munge', { recursive: true });
  spawnSync('chown', ['munge:munge', '/run/munge']);
  const started = spawnSync('runuser', ['-u', 'munge', '--', munged], { encoding: 'utf8', timeout: 10_000 });
  if (started.status !== 0) throw new Error(`could not start munged (exit ${started.status}): ${started.stderr}`);
  await waitUntil(mungeWorks, 10_000, 'munged did not start answering');
  const pidText = existsSync('/run/munge/munged.pid') ? readFileSync('/run/munge/munged.pid', 'utf8').trim() : '';
  return /^\d+$/.test(pidText) ? Number(pidText) : undefined;
}


export interface SlurmClusterOptions {
  /** How long to wait for the node to be idle. @default 60 s */
  readyTimeoutMs?: number;
}

/** A single-node Slurm cluster of its own (own ports, own state) for one test file. */
export class SlurmCluster {
  readonly partition = 'debug';
  readonly nodeName = 'localhost';
  readonly dir: string;
  readonly confPath: string;
  /** Environment for Slurm clients: `SLURM_CONF`. */
  readonly env: Record<string, string>;
  #ctld: ChildProcess | undefined;
  #slurmd: ChildProcess | undefined;
  #mungePid: number | undefined;
  readonly #ctldTail = new Tail();
  readonly #slurmdTail = new Tail();

  private constructor(dir: string) {
    this.dir = dir;
    this.confPath = join(dir, 'slurm.conf');
    this.env = { SLURM_CONF: this.confPath };
  }

  /** Starts munged (if needed), slurmctld and slurmd, and waits until the node is idle. */
  static async start(options: SlurmClusterOptions = {}): Promise<SlurmCluster> {
    const missing = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo', 'munge', 'munged'].filter((p) => !which(p));
    if (missing.length > 0) {
      throw new Error(`Slurm is not installed: ${missing.join(', ')} not found. Install it with: apt-get update && apt-get install -y slurm-wlm munge`);
    }
    const cluster = new SlurmCluster(mkdtempSync(join(tmpdir(), 'parsl-ts-slurm-')));
    try {
      await cluster.#start(options.readyTimeoutMs ?? 60_000);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  async #start(readyTimeoutMs: number): Promise<void> {
    this.#mungePid = await ensureMunge();
    const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
    const d = this.dir;
    for (const sub of ['state', 'spool', 'scripts']) mkdirSync(join(d, sub), { recursive: true });
    // Settings from INFRA.md: cgroup plugins fail in this sandbox ("freezer not mounted"), and
    // there is no slurmdbd, so no accounting (sacct is unavailable; providers use scontrol).
    const conf = [
      'ClusterName=parslts',
      `SlurmctldHost=${this.nodeName}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `StateSaveLocation=${join(d, 'state')}`,
      `SlurmdSpoolDir=${join(d, 'spool')}`,
      `SlurmctldPidFile=${join(d, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(d, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(d, 'slurmctld.log')}`,
      `SlurmdLogFile=${join(d, 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/filetxt',
      `JobCompLoc=${join(d, 'jobcomp.log')}`,
      'SchedulerType=sched/backfill',
      'SchedulerParameters=batch_sched_delay=0,sched_min_interval=0',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'MpiDefault=none',
      'MailProg=/bin/true',
      'ReturnToService=2',
      `NodeName=${this.nodeName} CPUs=${Math.max(1, cpus().length)} State=UNKNOWN`,
      `PartitionName=${this.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n');
    writeFileSync(this.confPath, conf);
    const env = { ...process.env, ...this.env };
    this.#ctld = spawn(which('slurmctld')!, ['-D', '-i', '-f', this.confPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#ctld.stdout!.on('data', (c: Buffer) => this.#ctldTail.add(c));
    this.#ctld.stderr!.on('data', (c: Buffer) => this.#ctldTail.add(c));
    this.#slurmd = spawn(which('slurmd')!, ['-D', '-N', this.nodeName, '-f', this.confPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#slurmd.stdout!.on('data', (c: Buffer) => this.#slurmdTail.add(c));
    this.#slurmd.stderr!.on('data', (c: Buffer) => this.#slurmdTail.add(c));
    await waitUntil(
      () => {
        if (this.#ctld?.exitCode !== null || this.#slurmd?.exitCode !== null) {
          throw new Error(`a Slurm daemon exited during start-up:\n${this.logs()}`);
        }
        const out = spawnSync('sinfo', ['-h', '-n', this.nodeName, '-o', '%t'], { env, encoding: 'utf8', timeout: 5_000 });
        return out.status === 0 && out.stdout.trim() === 'idle';
      },
      readyTimeoutMs,
      'the Slurm node did not become idle',
      200,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.logs()}`);
    });
  }

  /** A channel whose commands reach this cluster; submit scripts go to `<dir>/scripts`. */
  channel(): EnvChannel {
    return new EnvChannel(join(this.dir, 'scripts'), this.env);
  }

  /** Daemon output and log files, for failure messages. */
  logs(): string {
    const read = (name: string) => {
      const path = join(this.dir, name);
      return existsSync(path) ? readFileSync(path, 'utf8').slice(-8_000) : '(none)';
    };
    return [
      `--- slurmctld output ---\n${this.#ctldTail.text}`,
      `--- slurmd output ---\n${this.#slurmdTail.text}`,
      `--- slurmctld.log ---\n${read('slurmctld.log')}`,
      `--- slurmd.log ---\n${read('slurmd.log')}`,
    ].join('\n');
  }

  /** Cancels every job, stops the daemons (and munged if it was started here), removes the temp dir. */
  async stop(): Promise<void> {
    const env = { ...process.env, ...this.env };
    if (this.#ctld && this.#ctld.exitCode === null) {
      spawnSync('scancel', ['--full', `--user=${userInfo().username}`], { env, timeout: 10_000 });
      // Let job steps end before slurmd goes, so no slurmstepd is left behind.
      await waitUntil(
        () => {
          const out = spawnSync('squeue', ['-h', '-o', '%i'], { env, encoding: 'utf8', timeout: 5_000 });
          return out.status !== 0 || out.stdout.trim() === '';
        },
        15_000,
        'jobs still listed',
        200,
      ).catch(() => undefined);
    }
    await stopChild(this.#slurmd);
    await stopChild(this.#ctld);
    if (this.#mungePid !== undefined) {
      try {
        process.kill(this.#mungePid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The slice of a provider `watchJob` needs. */
interface StatusSource {
  status(jobIds: string[]): Promise<Array<{ jobId: string; state: string; exitCode?: number | undefined; message?: string | undefined }>>;
}

/**
 * Polls a job's status until `done(state)` holds; returns every distinct state seen, in order,
 * and the last status. Fails after `timeoutMs` with the states seen so far.
 */
export async function watchJob(
  provider: StatusSource,
  jobId: string,
  done: (state: string) => boolean,
  timeoutMs = 60_000,
): Promise<{ seen: string[]; last: { state: string; exitCode?: number | undefined; message?: string | undefined } }> {
  const seen: string[] = [];
  let last: { state: string; exitCode?: number | undefined; message?: string | undefined } = { state: 'unknown' };
  await waitUntil(
    async () => {
      const [status] = await provider.status([jobId]);
      if (!status) throw new Error(`status() returned nothing for job ${jobId}`);
      last = status;
      if (seen[seen.length - 1] !== last.state) seen.push(last.state);
      return done(last.state);
    },
    timeoutMs,
    `job ${jobId} did not reach the expected state`,
    200,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; states seen: ${seen.join(' → ')}; last: ${JSON.stringify(last)}`);
  });
  return { seen, last };
}

/**
 * A real Grid Engine for tests (Debian gridengine 8.1.9; see ../shared/INFRA.md). Grid Engine
 * installs into the system (`$SGE_ROOT=/var/lib/gridengine`, cell `default`), so unlike the
 * Slurm harness this one works on the machine's single cell:
 *
 * - checks that the packages are installed and the cell is configured (debconf preseed);
 * - makes sure of the settings a one-node test cell needs, changing only what differs:
 *   `<hostname> localhost` in host_aliases, `min_uid 0`/`min_gid 0` (jobs as root),
 *   `schedule_interval 0:0:1` (else each job waits ~15 s), `accounting_flush_time=00:00:00`
 *   (qacct sees a job as soon as it ends), a submit host, and a queue `all.q` on this host with
 *   `pe_list NONE`, its slots and no load threshold (the load of a shared machine would put it
 *   in alarm state). `qconf -m…` edits through `$EDITOR`, which must be a script: a sed script;
 * - starts sge_qmaster and sge_execd in the foreground (`SGE_ND=true`) as children if they do
 *   not run yet, and stops those it started;
 * - waits until the queue instance is up (no `u` state).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { EnvChannel, waitUntil, which } from './slurm.ts';
import { stopChild } from '../helpers.ts';

export { waitUntil, watchJob } from './slurm.ts';

/** How to install Grid Engine on Debian so that the harness finds a configured cell. */
export const GRIDENGINE_INSTALL_HINT = [
  'Install Grid Engine with a preseeded debconf (hostname as master, cell "default"):',
  '  for p in gridengine-common gridengine-client gridengine-master gridengine-exec; do',
  '    printf "%s shared/gridenginemaster string $(hostname)\\n%s shared/gridenginecell string default\\n%s shared/gridengineconfig boolean true\\n" $p $p $p',
  '  done | debconf-set-selections',
  '  DEBIAN_FRONTEND=noninteractive apt-get install -y gridengine-master gridengine-exec gridengine-client',
].join('\n');


export class GridEngine {
  readonly queue = 'all.q';
  /** Tests name their jobs with this prefix; `stop` deletes what is left of them (and nothing else). */
  readonly jobPrefix = 'ptsge';
  readonly host = hostname();
  /** `SGE_ROOT` and `SGE_CELL` for clients. */
  readonly env: Record<string, string>;
  /** Scratch: editor scripts, submit scripts. */
  readonly dir: string;
  #qmaster: ChildProcess | undefined;
  #execd: ChildProcess | undefined;
  #output = '';

  private constructor(dir: string) {
    this.dir = dir;
    this.env = { SGE_ROOT: process.env.SGE_ROOT ?? '/var/lib/gridengine', SGE_CELL: process.env.SGE_CELL ?? 'default' };
  }

  /** Why Grid Engine cannot run here, or undefined when it can. */
  static unavailable(): string | undefined {
    const missing = ['qsub', 'qstat', 'qdel', 'qacct', 'qconf', 'qmod', 'sge_qmaster', 'sge_execd'].filter((p) => !which(p));
    if (missing.length > 0) return `Grid Engine is not installed (${missing.join(', ')} not found).\n${GRIDENGINE_INSTALL_HINT}`;
    const root = process.env.SGE_ROOT ?? '/var/lib/gridengine';
    const cell = process.env.SGE_CELL ?? 'default';
    if (!existsSync(join(root, cell, 'common', 'act_qmaster'))) {
      return `Grid Engine cell ${root}/${cell} is not configured (no common/act_qmaster).\n${GRIDENGINE_INSTALL_HINT}`;
    }
    if (process.getuid?.() !== 0) return 'the Grid Engine harness configures the system cell and starts its daemons: it must run as root';
    return undefined;
  }

  static async start(readyTimeoutMs = 90_000): Promise<GridEngine> {
    const reason = GridEngine.unavailable();
    if (reason) throw new Error(reason);
    const ge = new GridEngine(mkdtempSync(join(tmpdir(), 'parsl-ts-gridengine-')));
    try {
      await ge.#start(readyTimeoutMs);
      return ge;
    } catch (error) {
      await ge.stop();
      throw error;
    }
  }

  /** Runs a client command with the cell's environment. */
  run(program: string, args: string[], extraEnv: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
    const out = spawnSync(program, args, { env: { ...process.env, ...this.env, ...extraEnv }, encoding: 'utf8', timeout: 30_000 });
    return { status: out.status, stdout: out.stdout ?? '', stderr: out.stderr ?? '' };
  }

  #qmasterAnswers(): boolean {
    return this.run('qconf', ['-sh']).status === 0;
  }

  /** Applies a sed script through `qconf <flag>` (EDITOR = a script that runs sed on the file). */
  #edit(flag: string[], sed: string): void {
    const sedFile = join(this.dir, `edit-${Date.now()}-${Math.random().toString(16).slice(2)}.sed`);
    writeFileSync(sedFile, sed);
    const editor = join(this.dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nexec sed -i -f "$PARSL_SED_SCRIPT" "$1"\n');
    chmodSync(editor, 0o755);
    const out = this.run('qconf', flag, { EDITOR: editor, PARSL_SED_SCRIPT: sedFile });
    if (out.status !== 0) throw new Error(`qconf ${flag.join(' ')} failed (exit ${out.status}): ${out.stderr}${out.stdout}`);
  }

  #spawnDaemon(program: string): ChildProcess {
    const child = spawn(which(program)!, [], { env: { ...process.env, ...this.env, SGE_ND: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (c: Buffer) => (this.#output = (this.#output + c.toString()).slice(-32_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return child;
  }

  async #start(readyTimeoutMs: number): Promise<void> {
    const { SGE_ROOT, SGE_CELL } = this.env;
    // qmaster refuses hosts whose name resolves differently ("access denied … not identical").
    const aliases = join(SGE_ROOT!, SGE_CELL!, 'common', 'host_aliases');
    const line = `${this.host} localhost`;
    const current = existsSync(aliases) ? readFileSync(aliases, 'utf8') : '';
    if (this.host !== 'localhost' && !current.split('\n').some((l) => l.trim() === line)) appendFileSync(aliases, `${line}\n`);

    if (!this.#qmasterAnswers()) {
      this.#qmaster = this.#spawnDaemon('sge_qmaster');
      await waitUntil(
        () => {
          if (this.#qmaster?.exitCode !== null) throw new Error(`sge_qmaster exited during start-up:\n${this.#output}`);
          return this.#qmasterAnswers();
        },
        readyTimeoutMs,
        'sge_qmaster did not start answering',
        200,
      );
    }

    const conf = this.run('qconf', ['-sconf']).stdout;
    const confFixes: string[] = [];
    if (!/^min_uid\s+0\s*$/m.test(conf)) confFixes.push('s/^min_uid .*/min_uid 0/');
    if (!/^min_gid\s+0\s*$/m.test(conf)) confFixes.push('s/^min_gid .*/min_gid 0/');
    if (!/accounting_flush_time=00:00:00/.test(conf)) {
      confFixes.push(
        '/^reporting_params/,/[^\\\\]$/c\\',
        'reporting_params accounting=true reporting=false flush_time=00:00:15 joblog=false sharelog=00:00:00 accounting_flush_time=00:00:00',
      );
    }
    if (confFixes.length > 0) this.#edit(['-mconf'], `${confFixes.join('\n')}\n`);
    if (!/^schedule_interval\s+0:0:1\s*$/m.test(this.run('qconf', ['-ssconf']).stdout)) {
      this.#edit(['-msconf'], 's/^schedule_interval .*/schedule_interval 0:0:1/\n');
    }
    if (!this.run('qconf', ['-ss']).stdout.split('\n').includes(this.host)) this.run('qconf', ['-as', this.host]);

    const slots = Math.max(1, cpus().length);
    if (this.run('qconf', ['-sq', this.queue]).status !== 0) {
      this.#edit(
        ['-aq'],
        [`s/^qname .*/qname ${this.queue}/`, `s/^hostlist .*/hostlist ${this.host}/`, `s/^slots .*/slots ${slots}/`, 's/^pe_list .*/pe_list NONE/', 's/^load_thresholds .*/load_thresholds NONE/', ''].join(
          '\n',
        ),
      );
    } else {
      const q = this.run('qconf', ['-sq', this.queue]).stdout;
      const want: Array<[string, string]> = [
        ['hostlist', this.host],
        ['pe_list', 'NONE'],
        ['load_thresholds', 'NONE'],
      ];
      for (const [attr, value] of want) {
        if (!new RegExp(`^${attr}\\s+${value}\\s*$`, 'm').test(q)) this.run('qconf', ['-rattr', 'queue', attr, value, this.queue]);
      }
    }

    // A job that failed in the shepherd leaves the queue instance in error state (E), which a
    // previous run may have left behind: clear it, and enable the queue in case it was disabled.
    this.run('qmod', ['-c', this.queue]);
    this.run('qmod', ['-e', this.queue]);
    if (this.run('qstat', ['-f', '-q', this.queue]).stdout.includes(`${this.queue}@`) && this.#queueUp()) return;
    // The queue instance is down: start an execd unless one is running (not ours to start then).
    if (spawnSync('pgrep', ['-x', 'sge_execd']).status !== 0) this.#execd = this.#spawnDaemon('sge_execd');
    await waitUntil(
      () => {
        if (this.#execd && this.#execd.exitCode !== null) throw new Error(`sge_execd exited during start-up:\n${this.#output}`);
        return this.#queueUp();
      },
      readyTimeoutMs,
      `queue instance ${this.queue}@${this.host} did not come up`,
      300,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.run('qstat', ['-f']).stdout}\n${this.#output}`);
    });
  }

  /** Whether the queue instance on this host is known and in no alarm/unknown/error/disabled state. */
  #queueUp(): boolean {
    const out = this.run('qstat', ['-f', '-q', this.queue]).stdout;
    for (const line of out.split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (!cols[0]?.startsWith(`${this.queue}@`)) continue;
      // queuename qtype resv/used/tot. load_avg arch [states]
      const states = cols.length > 5 ? cols[5]! : '';
      return !/[uaAEdDsSc]/.test(states);
    }
    return false;
  }

  /** A channel whose commands reach this cell; submit scripts go to `<dir>/scripts`. */
  channel(): EnvChannel {
    return new EnvChannel(join(this.dir, 'scripts'), this.env);
  }

  /** Deletes jobs named with `jobPrefix`, stops the daemons started here, removes the scratch dir. */
  async stop(): Promise<void> {
    if (this.#qmasterAnswers()) {
      const pattern = `${this.jobPrefix}*`;
      this.run('qdel', ['-u', userInfo().username, pattern]);
      await waitUntil(() => !this.run('qstat', []).stdout.includes(this.jobPrefix.slice(0, 10)), 30_000, 'jobs still listed', 300).catch(() => undefined);
    }
    await stopChild(this.#execd, 20_000);
    await stopChild(this.#qmaster, 20_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

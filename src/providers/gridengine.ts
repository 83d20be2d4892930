import { lazySchema, z } from '../common/zod.ts';
import { parseOptions } from '../common/validate.ts';
import type { ExecResult } from './channels/channel.ts';
import { ClusterProvider, type JobSpec, type StatusUpdate } from './cluster.ts';
import { JobStatusError } from './errors.ts';
import { SingleNodeLauncher } from './launchers/simple.ts';
import { commonOptionsShape, DEFAULT_WALLTIME_MS, resolveCommonOptions, type JobState, type ResolvedProviderOptions } from './provider.ts';
import { formatHms } from './shell.ts';
import { shellQuote } from '../common/shell-quote.ts';

/**
 * A Grid Engine state string (`qw`, `hqw`, `r`, `t`, `Rr`, `dr`, `Eqw`, `s`…) as a job state:
 * an error (`E`) fails, a deletion (`d`) cancels, hold or suspension (`h`, `s`, `S`, `T`)
 * holds, running or transferring (`r`, `t`) runs, and queued/waiting (`q`, `w`) is pending.
 */
export function gridEngineState(code: string): JobState {
  if (code.includes('E')) return 'failed';
  if (code.includes('d')) return 'cancelled';
  if (/[hsST]/.test(code)) return 'held';
  if (/[rt]/.test(code)) return 'running';
  if (/[qw]/.test(code)) return 'pending';
  return 'unknown';
}

/** `qstat` plain output → state string by job id (the first task line of an array wins). */
export function parseGridEngineQstat(stdout: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    // job-ID prior name user state submit/start-at(date time) [queue] slots [ja-task-ID]
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || !/^\d+$/.test(cols[0]!)) continue;
    if (!states.has(cols[0]!)) states.set(cols[0]!, cols[4]!);
  }
  return states;
}

/** `qstat -xml` output → state string by job id. */
export function parseGridEngineQstatXml(stdout: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const match of stdout.matchAll(/<job_list\b[^>]*>([\s\S]*?)<\/job_list>/g)) {
    const body = match[1]!;
    const id = /<JB_job_number>\s*(\d+)\s*<\/JB_job_number>/.exec(body)?.[1];
    const state = /<state>\s*([^<\s]*)\s*<\/state>/.exec(body)?.[1];
    if (id && state !== undefined && !states.has(id)) states.set(id, state);
  }
  return states;
}

/** `qacct -j` records (separated by `====` lines) → fields by job number. */
export function parseQacct(stdout: string): Map<string, Record<string, string>> {
  const jobs = new Map<string, Record<string, string>>();
  for (const chunk of stdout.split(/^=+\s*$/m)) {
    const fields: Record<string, string> = {};
    for (const line of chunk.split('\n')) {
      const m = /^(\w+)\s+(.*?)\s*$/.exec(line);
      if (m) fields[m[1]!] = m[2]!;
    }
    if (fields.jobnumber) jobs.set(fields.jobnumber, fields);
  }
  return jobs;
}

/** A finished job's accounting record as a status: `failed` (0 = no failure) and `exit_status`. */
export function qacctStatus(fields: Record<string, string>): StatusUpdate {
  const exitCode = Number.parseInt(fields.exit_status ?? '', 10);
  const failed = fields.failed ?? '0';
  const failedCode = Number.parseInt(failed, 10);
  const update: StatusUpdate = { state: 'completed' };
  if (Number.isFinite(exitCode)) update.exitCode = exitCode;
  if ((Number.isFinite(failedCode) && failedCode !== 0) || (Number.isFinite(exitCode) && exitCode !== 0)) {
    update.state = 'failed';
    update.message = failedCode !== 0 ? `failed ${failed}` : `exit status ${exitCode}`;
  }
  return update;
}

const gridEngineSchema = lazySchema(() =>
  z
    .object({
      ...commonOptionsShape({ label: 'gridengine' }),
      /** `-q`: the queue. @default none: the scheduler's default queue */
      queue: z.string().min(1).optional(),
      /** `-pe <name> <slots>`: the parallel environment for blocks of more than one slot. @default none: one slot per block */
      parallelEnvironment: z.string().min(1).optional(),
    })
    .strict(),
);

/**
 * GridEngineProvider options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: GridEngineProviderOptions = { queue: 'all.q', parallelEnvironment: 'smp' };
 * new GridEngineProvider(options);
 * ```
 */
export type GridEngineProviderOptions = z.input<typeof gridEngineSchema>;

export interface ResolvedGridEngineProviderOptions extends ResolvedProviderOptions {
  walltimeMs: number;
  queue: string | undefined;
  parallelEnvironment: string | undefined;
}

/** Validates GridEngineProvider options and fills defaults. Throws `ConfigError`. */
export function resolveGridEngineProviderOptions(options: GridEngineProviderOptions = {}): ResolvedGridEngineProviderOptions {
  const parsed = parseOptions(gridEngineSchema, options, 'GridEngineProvider');
  const common = resolveCommonOptions('GridEngineProvider', parsed, { launcher: () => new SingleNodeLauncher(), walltimeMs: DEFAULT_WALLTIME_MS });
  return { ...common, walltimeMs: common.walltimeMs ?? DEFAULT_WALLTIME_MS, queue: parsed.queue, parallelEnvironment: parsed.parallelEnvironment };
}

/** The job id `qsub -terse` prints (`7`, or `7.1-10:1` for an array). */
export function parseQsubTerse(stdout: string): string | undefined {
  const line = stdout.trim().split('\n').pop()?.trim() ?? '';
  const m = /^(\d+)(?:\.\S+)?$/.exec(line) ?? /Your job(?:-array)? (\d+)/.exec(stdout);
  return m?.[1];
}

/** Polls after which a job missing from both qstat and qacct is taken as completed. */
export const POLLS_WITHOUT_ACCOUNTING = 5;

/**
 * Blocks as (Sun/Son of/Univa) Grid Engine jobs: `qsub -terse`, status from `qstat -xml` and,
 * for jobs that left it, the accounting file through `qacct -j` (exit status and failure
 * code), `qdel`.
 *
 * @example
 * ```ts
 * new GridEngineProvider({ queue: 'all.q', maxBlocks: 4, walltime: '00:30:00', workerInit: 'source ~/.nvm/nvm.sh' });
 * ```
 */
export class GridEngineProvider extends ClusterProvider<ResolvedGridEngineProviderOptions> {
  protected readonly kind = 'GridEngineProvider';
  protected readonly submitProgram = 'qsub';
  protected readonly jobIdHint = 'a bare job id from qsub -terse';

  /** Polls in a row that found a job neither in qstat nor in qacct. */
  readonly #misses = new Map<string, number>();

  constructor(options: GridEngineProviderOptions = {}) {
    super(resolveGridEngineProviderOptions(options));
  }

  protected directives(job: JobSpec): string[] {
    const o = this.options;
    const lines = [
      '#$ -S /bin/bash',
      `#$ -N ${job.jobName}`,
      `#$ -o ${job.stdoutPath}`,
      `#$ -e ${job.stderrPath}`,
      '#$ -cwd',
      `#$ -l h_rt=${formatHms(o.walltimeMs)}`,
    ];
    if (o.queue) lines.push(`#$ -q ${o.queue}`);
    if (o.parallelEnvironment) lines.push(`#$ -pe ${o.parallelEnvironment} ${o.nodesPerBlock * job.tasksPerNode}`);
    return lines;
  }

  protected submitCommand(job: JobSpec): string {
    return `qsub -terse ${shellQuote(job.scriptPath)}`;
  }

  protected parseJobId(result: ExecResult): string | undefined {
    return parseQsubTerse(result.stdout);
  }

  protected async poll(jobIds: string[]): Promise<Map<string, StatusUpdate>> {
    const command = 'qstat -xml';
    const result = await this.runForStatus(jobIds, 'qstat', command);
    if (result.exitCode !== 0) throw new JobStatusError(jobIds, `qstat exited with code ${result.exitCode}`, { command, ...result });
    const states = result.stdout.includes('<job_info') ? parseGridEngineQstatXml(result.stdout) : parseGridEngineQstat(result.stdout);
    const updates = new Map<string, StatusUpdate>();
    const gone: string[] = [];
    for (const id of jobIds) {
      const code = states.get(id);
      if (code === undefined) gone.push(id);
      else {
        const state = gridEngineState(code);
        updates.set(id, state === 'running' || state === 'pending' ? { state } : { state, message: `Grid Engine state '${code}'` });
      }
    }
    if (gone.length > 0) {
      const script = gone.map((id) => `qacct -j ${shellQuote(id)} 2>&1`).join('; ');
      const accounted = await this.runForStatus(gone, 'qacct', script);
      const records = parseQacct(accounted.stdout);
      for (const id of gone) {
        const fields = records.get(id);
        if (fields) updates.set(id, qacctStatus(fields));
        else if (this.jobs.has(id)) {
          // Not in qstat and not (yet) in the accounting file, which the master flushes every
          // accounting_flush_time: keep the last state for a few polls, then assume it completed
          // (accounting may be off), as Parsl does.
          const misses = (this.#misses.get(id) ?? 0) + 1;
          this.#misses.set(id, misses);
          const record = this.jobs.get(id)!;
          updates.set(
            id,
            misses >= POLLS_WITHOUT_ACCOUNTING
              ? { state: 'completed', message: `left qstat and no accounting record appeared in ${misses} polls` }
              : { state: record.state, message: 'left qstat; waiting for its accounting record' },
          );
        }
      }
    }
    return updates;
  }

  protected kill(jobIds: string[]): Promise<boolean[]> {
    return this.killEach(jobIds, (id) => `qdel ${shellQuote(id)}`, 'qdel');
  }
}

import { lazySchema, z } from '../common/zod.ts';
import { parseOptions } from '../common/validate.ts';
import type { ExecResult } from './channels/channel.ts';
import { ClusterProvider, type JobSpec, type StatusUpdate } from './cluster.ts';
import { JobStatusError } from './errors.ts';
import { SingleNodeLauncher } from './launchers/simple.ts';
import { commonOptionsShape, DEFAULT_WALLTIME_MS, resolveCommonOptions, TERMINAL_JOB_STATES, type JobState, type ResolvedProviderOptions } from './provider.ts';
import { formatHms } from './shell.ts';
import { shellQuote } from '../common/shell-quote.ts';

/** Slurm's short state codes (`squeue %t`) mapped as Parsl maps them. */
export const SLURM_SHORT_STATES: Readonly<Record<string, JobState>> = {
  PD: 'pending',
  CF: 'pending', // configuring
  RQ: 'pending', // requeued
  RF: 'pending', // requeue fed
  RH: 'pending', // requeue hold
  R: 'running',
  CG: 'running', // completing
  SO: 'running', // staging out
  RS: 'running', // resizing
  SI: 'running', // signaling
  ST: 'held', // stopped
  S: 'held', // suspended
  RD: 'held', // resv del hold
  CD: 'completed',
  CA: 'cancelled',
  F: 'failed',
  NF: 'failed', // node failure
  OOM: 'failed',
  BF: 'failed', // boot failure
  DL: 'failed', // deadline
  PR: 'failed', // preempted
  RV: 'failed', // revoked
  SE: 'failed', // special exit
  TO: 'timeout',
};

/** Slurm's long state names (`scontrol show job` JobState=, `squeue %T`). */
export const SLURM_LONG_STATES: Readonly<Record<string, JobState>> = {
  PENDING: 'pending',
  CONFIGURING: 'pending',
  REQUEUED: 'pending',
  REQUEUE_FED: 'pending',
  REQUEUE_HOLD: 'pending',
  RUNNING: 'running',
  COMPLETING: 'running',
  STAGE_OUT: 'running',
  RESIZING: 'running',
  SIGNALING: 'running',
  STOPPED: 'held',
  SUSPENDED: 'held',
  RESV_DEL_HOLD: 'held',
  COMPLETED: 'completed',
  CANCELLED: 'cancelled',
  FAILED: 'failed',
  NODE_FAIL: 'failed',
  OUT_OF_MEMORY: 'failed',
  BOOT_FAIL: 'failed',
  DEADLINE: 'failed',
  PREEMPTED: 'failed',
  REVOKED: 'failed',
  SPECIAL_EXIT: 'failed',
  TIMEOUT: 'timeout',
};

const slurmSchema = lazySchema(() =>
  z
    .object({
      ...commonOptionsShape({ label: 'slurm' }),
      /** `--partition`. @default the cluster's default partition */
      partition: z.string().min(1).optional(),
      /** `--account` charged for the blocks. @default none: the user's default account */
      account: z.string().min(1).optional(),
      /** `--qos`. @default none */
      qos: z.string().min(1).optional(),
      /** `--constraint` (node features). @default none */
      constraint: z.string().min(1).optional(),
      /** `--clusters`, for multi-cluster sites. @default none */
      clusters: z.string().min(1).optional(),
      /** `--exclusive`: whole nodes for each block. @default true */
      exclusive: z.boolean().default(true),
      /** Cores per node: sets `--cpus-per-task` to `coresPerNode / tasksPerNode`. @default none: Slurm's default */
      coresPerNode: z.number().int().positive().optional(),
      /** Memory per node in GB: `--mem=<n>g`. @default none: Slurm's default */
      memPerNode: z.number().positive().optional(),
    })
    .strict(),
);

/**
 * SlurmProvider options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: SlurmProviderOptions = { partition: 'compute', account: 'proj123', walltime: '01:00:00' };
 * new SlurmProvider(options);
 * ```
 */
export type SlurmProviderOptions = z.input<typeof slurmSchema>;

export interface ResolvedSlurmProviderOptions extends ResolvedProviderOptions {
  walltimeMs: number;
  partition: string | undefined;
  account: string | undefined;
  qos: string | undefined;
  constraint: string | undefined;
  clusters: string | undefined;
  exclusive: boolean;
  coresPerNode: number | undefined;
  memPerNode: number | undefined;
}

/** Validates SlurmProvider options and fills defaults. Throws `ConfigError`. */
export function resolveSlurmProviderOptions(options: SlurmProviderOptions = {}): ResolvedSlurmProviderOptions {
  const parsed = parseOptions(slurmSchema, options, 'SlurmProvider');
  const common = resolveCommonOptions('SlurmProvider', parsed, { launcher: () => new SingleNodeLauncher(), walltimeMs: DEFAULT_WALLTIME_MS });
  return {
    ...common,
    walltimeMs: common.walltimeMs ?? DEFAULT_WALLTIME_MS,
    partition: parsed.partition,
    account: parsed.account,
    qos: parsed.qos,
    constraint: parsed.constraint,
    clusters: parsed.clusters,
    exclusive: parsed.exclusive,
    coresPerNode: parsed.coresPerNode,
    memPerNode: parsed.memPerNode,
  };
}

/** The job id in `sbatch` output: `--parsable` (`1234` or `1234;cluster`) or `Submitted batch job 1234`. */
export function parseSbatchOutput(stdout: string): string | undefined {
  const classic = /Submitted batch job (\d+)/.exec(stdout);
  if (classic) return classic[1];
  const lines = stdout.trim().split('\n');
  const last = lines[lines.length - 1]?.trim() ?? '';
  const parsable = /^(\d+)(?:;\S+)?$/.exec(last);
  return parsable?.[1];
}

/** `squeue -h -o '%i %t'` lines → state code by job id. */
export function parseSqueue(stdout: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [id, code] = line.trim().split(/\s+/);
    if (id && code && /^\d/.test(id)) states.set(id, code);
  }
  return states;
}

/** One job of `scontrol show job` (multi-line or `-o` one-line form): its `Key=Value` fields. */
export function parseScontrolShowJob(stdout: string): Map<string, Record<string, string>> {
  const jobs = new Map<string, Record<string, string>>();
  // Records start at "JobId=" and run to the next one.
  const chunks = stdout.split(/(?=^\s*JobId=)/m);
  for (const chunk of chunks) {
    const fields: Record<string, string> = {};
    for (const match of chunk.matchAll(/(?:^|\s)([A-Za-z][\w/:]*)=(\S*)/g)) {
      const key = match[1]!;
      if (!(key in fields)) fields[key] = match[2]!;
    }
    if (fields.JobId) jobs.set(fields.JobId, fields);
  }
  return jobs;
}

/** A `scontrol show job` record as a status: JobState, ExitCode (`code:signal`), Reason. */
export function scontrolStatus(fields: Record<string, string>): StatusUpdate {
  const raw = fields.JobState ?? '';
  const state = SLURM_LONG_STATES[raw] ?? 'unknown';
  const update: StatusUpdate = { state };
  const exit = /^(\d+):(\d+)$/.exec(fields.ExitCode ?? '');
  if (exit && TERMINAL_JOB_STATES.has(state)) {
    update.exitCode = Number(exit[1]);
    if (exit[2] !== '0') update.message = `killed by signal ${exit[2]}`;
  }
  const reason = fields.Reason;
  if (reason && reason !== 'None') update.message = update.message ? `${update.message}; ${reason}` : reason;
  if (state === 'unknown') update.message = `unrecognised Slurm state ${JSON.stringify(raw)}`;
  return update;
}


/**
 * Blocks as Slurm batch jobs: `sbatch --parsable`, status from `squeue` and, for jobs that have
 * left it, `scontrol show job` (which keeps finished jobs for `MinJobAge`, 300 s by default,
 * and gives their exit code; `sacct` needs slurmdbd, which many clusters and test setups lack).
 *
 * @example
 * ```ts
 * new SlurmProvider({ partition: 'debug', nodesPerBlock: 2, walltime: '01:00:00',
 *                     workerInit: 'module load python', launcher: new SrunLauncher() })
 * ```
 */
export class SlurmProvider extends ClusterProvider<ResolvedSlurmProviderOptions> {
  protected readonly kind = 'SlurmProvider';
  protected readonly submitProgram = 'sbatch';
  protected readonly jobIdHint = "'Submitted batch job <id>' or a bare id from --parsable";

  constructor(options: SlurmProviderOptions = {}) {
    super(resolveSlurmProviderOptions(options));
  }

  protected directives(job: JobSpec): string[] {
    const o = this.options;
    const lines = [
      `#SBATCH --job-name=${job.jobName}`,
      `#SBATCH --output=${job.stdoutPath}`,
      `#SBATCH --error=${job.stderrPath}`,
      `#SBATCH --nodes=${o.nodesPerBlock}`,
      `#SBATCH --time=${formatHms(o.walltimeMs)}`,
      `#SBATCH --ntasks-per-node=${job.tasksPerNode}`,
    ];
    if (o.coresPerNode !== undefined) lines.push(`#SBATCH --cpus-per-task=${Math.max(1, Math.floor(o.coresPerNode / job.tasksPerNode))}`);
    if (o.memPerNode !== undefined) lines.push(`#SBATCH --mem=${o.memPerNode}g`);
    if (o.exclusive) lines.push('#SBATCH --exclusive');
    if (o.partition) lines.push(`#SBATCH --partition=${o.partition}`);
    if (o.account) lines.push(`#SBATCH --account=${o.account}`);
    if (o.qos) lines.push(`#SBATCH --qos=${o.qos}`);
    if (o.constraint) lines.push(`#SBATCH --constraint=${o.constraint}`);
    if (o.clusters) lines.push(`#SBATCH --clusters=${o.clusters}`);
    return lines;
  }

  protected submitCommand(job: JobSpec): string {
    return `sbatch --parsable ${shellQuote(job.scriptPath)}`;
  }

  protected parseJobId(result: ExecResult): string | undefined {
    return parseSbatchOutput(result.stdout);
  }

  protected async poll(jobIds: string[]): Promise<Map<string, StatusUpdate>> {
    const updates = new Map<string, StatusUpdate>();
    const clusters = this.options.clusters ? ` --clusters=${shellQuote(this.options.clusters)}` : '';
    const squeue = `squeue${clusters} -h -o '%i %t' -j ${shellQuote(jobIds.join(','))}`;
    const queued = await this.runForStatus(jobIds, 'squeue', squeue);
    const codes = parseSqueue(queued.stdout);
    // squeue exits 1 with "Invalid job id specified" when none of the ids is in the queue any more;
    // any other failure with nothing parsed means the controller cannot be asked.
    if (queued.exitCode !== 0 && codes.size === 0 && !/Invalid job id/i.test(queued.stderr)) {
      throw new JobStatusError(jobIds, `squeue exited with code ${queued.exitCode}`, { command: squeue, ...queued });
    }
    const gone: string[] = [];
    for (const id of jobIds) {
      const code = codes.get(id);
      if (code === undefined) gone.push(id);
      else {
        const state = SLURM_SHORT_STATES[code] ?? 'unknown';
        updates.set(id, state === 'unknown' ? { state, message: `unrecognised Slurm state code ${JSON.stringify(code)}` } : { state });
      }
    }
    // Jobs that left squeue are finished (or were never there): scontrol still has them for MinJobAge.
    const finished = jobIds.filter((id) => gone.includes(id) || TERMINAL_JOB_STATES.has(updates.get(id)?.state ?? 'unknown'));
    if (finished.length > 0) {
      const script = finished.map((id) => `scontrol${clusters} show job ${shellQuote(id)} 2>&1`).join('; ');
      const shown = await this.runForStatus(finished, 'scontrol', script);
      const records = parseScontrolShowJob(shown.stdout);
      for (const id of finished) {
        const fields = records.get(id);
        if (fields) updates.set(id, scontrolStatus(fields));
        else if (gone.includes(id) && this.jobs.has(id)) {
          // Older than MinJobAge and no accounting: Parsl assumes it completed, and so do we.
          updates.set(id, { state: 'completed', message: 'job left squeue and scontrol without a recorded failure' });
        }
      }
    }
    return updates;
  }

  protected kill(jobIds: string[]): Promise<boolean[]> {
    const clusters = this.options.clusters ? ` --clusters=${shellQuote(this.options.clusters)}` : '';
    return this.killEach(jobIds, (id) => `scancel${clusters} ${shellQuote(id)}`, 'scancel');
  }
}

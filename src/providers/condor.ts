import { lazySchema, z } from '../common/zod.ts';
import { ConfigError } from '../common/errors.ts';
import { parseOptions } from '../common/validate.ts';
import type { ExecResult } from './channels/channel.ts';
import { ClusterProvider, type JobSpec, type StatusUpdate } from './cluster.ts';
import { JobStatusError } from './errors.ts';
import { SingleNodeLauncher } from './launchers/simple.ts';
import { commonOptionsShape, DEFAULT_WALLTIME_MS, resolveCommonOptions, type JobState, type ResolvedProviderOptions } from './provider.ts';
import { joinPosix } from './shell.ts';
import { shellQuote } from '../common/shell-quote.ts';

/** HTCondor's numeric `JobStatus`. */
export const CONDOR_STATES: Readonly<Record<string, JobState>> = {
  '1': 'pending', // idle
  '2': 'running',
  '3': 'cancelled', // removed
  '4': 'completed', // see ExitCode
  '5': 'held',
  '6': 'running', // transferring output
  '7': 'held', // suspended
};

const condorSchema = lazySchema(() =>
  z
    .object({
      ...commonOptionsShape({ label: 'condor' }),
      /** `request_cpus` of each slot. @default 1 */
      coresPerSlot: z.number().int().positive().default(1),
      /** `request_memory` of each slot, in GB. @default none: the pool's default */
      memPerSlot: z.number().positive().optional(),
      /** Environment of the job (`environment = "…"` in the submit description). @default {} */
      environment: z.record(z.string(), z.string()).default({}),
      /** `+ProjectName`, for pools that account by project. @default none */
      project: z.string().min(1).optional(),
      /** `requirements` expression, e.g. `'OpSysMajorVer == 8'`. @default none */
      requirements: z.string().min(1).optional(),
      /** Files sent with the job (`transfer_input_files`). @default [] */
      transferInputFiles: z.array(z.string().min(1)).default([]),
    })
    .strict(),
);

/**
 * CondorProvider options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: CondorProviderOptions = { coresPerSlot: 4, requirements: 'OpSysMajorVer == 8' };
 * new CondorProvider(options);
 * ```
 */
export type CondorProviderOptions = z.input<typeof condorSchema>;

export interface ResolvedCondorProviderOptions extends ResolvedProviderOptions {
  walltimeMs: number;
  coresPerSlot: number;
  memPerSlot: number | undefined;
  environment: Record<string, string>;
  project: string | undefined;
  requirements: string | undefined;
  transferInputFiles: string[];
}

/** Validates CondorProvider options and fills defaults. Throws `ConfigError`. */
export function resolveCondorProviderOptions(options: CondorProviderOptions = {}): ResolvedCondorProviderOptions {
  const parsed = parseOptions(condorSchema, options, 'CondorProvider');
  for (const key of Object.keys(parsed.environment)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new ConfigError('CondorProvider.environment', `${JSON.stringify(key)} is not a valid environment variable name`);
    }
  }
  const common = resolveCommonOptions('CondorProvider', parsed, { launcher: () => new SingleNodeLauncher(), walltimeMs: DEFAULT_WALLTIME_MS });
  return {
    ...common,
    walltimeMs: common.walltimeMs ?? DEFAULT_WALLTIME_MS,
    coresPerSlot: parsed.coresPerSlot,
    memPerSlot: parsed.memPerSlot,
    environment: parsed.environment,
    project: parsed.project,
    requirements: parsed.requirements,
    transferInputFiles: parsed.transferInputFiles,
  };
}

/** The cluster id in `condor_submit` output: `1 job(s) submitted to cluster 42.` */
export function parseCondorSubmitOutput(stdout: string): string | undefined {
  return /submitted to cluster (\d+)/.exec(stdout)?.[1];
}

/** One line of `condor_q`/`condor_history -af:jt JobStatus ExitCode RemoveReason HoldReason`. */
export interface CondorProc {
  cluster: string;
  proc: string;
  status: StatusUpdate;
}

/** Parses `-af:jt JobStatus ExitCode RemoveReason HoldReason` output (tab-separated, `undefined` for missing attributes). */
export function parseCondorAutoformat(stdout: string): CondorProc[] {
  const procs: CondorProc[] = [];
  for (const line of stdout.split('\n')) {
    const [jobId, statusCode, exitCode, removeReason, holdReason] = line.replace(/\r$/, '').split('\t');
    const id = /^(\d+)\.(\d+)$/.exec(jobId?.trim() ?? '');
    if (!id || statusCode === undefined) continue;
    const code = statusCode.trim();
    let state = CONDOR_STATES[code] ?? 'unknown';
    const status: StatusUpdate = { state };
    const exit = exitCode?.trim();
    if (state === 'completed' && exit && /^-?\d+$/.test(exit)) {
      status.exitCode = Number(exit);
      if (status.exitCode !== 0) state = 'failed';
    }
    const remove = removeReason?.trim();
    if (state === 'cancelled' && remove && remove !== 'undefined') {
      status.message = remove;
      // The walltime is enforced with periodic_remove (see CondorProvider).
      if (/PeriodicRemove/i.test(remove)) state = 'timeout';
    }
    const hold = holdReason?.trim();
    if (state === 'held' && hold && hold !== 'undefined') status.message = hold;
    if (state === 'unknown') status.message = `unrecognised HTCondor JobStatus ${JSON.stringify(code)}`;
    status.state = state;
    procs.push({ cluster: id[1]!, proc: id[2]!, status });
  }
  return procs;
}

const ORDER: JobState[] = ['running', 'pending', 'held', 'unknown', 'failed', 'timeout', 'cancelled', 'completed'];

/** The state of a block (one cluster) from the states of its procs (one per node): the most alive wins, then the worst end. */
export function combineProcs(procs: CondorProc[]): StatusUpdate {
  let best: StatusUpdate | undefined;
  for (const { status } of procs) {
    if (!best || ORDER.indexOf(status.state) < ORDER.indexOf(best.state)) best = status;
  }
  return best ?? { state: 'unknown' };
}

/** `environment = "…"` value in HTCondor's new syntax: space-separated, values in single quotes. */
export function condorEnvironment(env: Record<string, string>): string {
  const parts = Object.entries(env).map(([key, value]) => `${key}='${value.replace(/'/g, "''").replace(/"/g, '""')}'`);
  return `"${parts.join(' ')}"`;
}

/**
 * Blocks as HTCondor jobs: a submit description (`queue nodesPerBlock`: one proc per node)
 * next to the bash script, `condor_submit`, status from `condor_q` and then `condor_history`
 * for jobs that left the queue, `condor_rm`. The walltime is enforced with `periodic_remove`.
 * `schedulerOptions` are lines of the submit description.
 *
 * @example
 * ```ts
 * new CondorProvider({ coresPerSlot: 4, memPerSlot: 8, requirements: 'OpSysMajorVer == 8', maxBlocks: 20 });
 * ```
 */
export class CondorProvider extends ClusterProvider<ResolvedCondorProviderOptions> {
  protected readonly kind = 'CondorProvider';
  protected readonly submitProgram = 'condor_submit';
  protected readonly jobIdHint = "'N job(s) submitted to cluster <id>.'";
  protected override readonly schedulerOptionsInScript = false;

  constructor(options: CondorProviderOptions = {}) {
    super(resolveCondorProviderOptions(options));
  }

  /** Directives live in the submit description, not in the script. */
  protected directives(): string[] {
    return [];
  }

  /** Path of the submit description of `job`. */
  submitDescriptionPath(job: JobSpec): string {
    return joinPosix(job.scriptDir, `${job.jobName}.condor`);
  }

  /** The submit description of `job`. */
  submitDescription(job: JobSpec): string {
    const o = this.options;
    const lines = [
      'universe = vanilla',
      `executable = ${job.scriptPath}`,
      `output = ${job.stdoutPath}`,
      `error = ${job.stderrPath}`,
      `log = ${joinPosix(job.scriptDir, `${job.jobName}.condor.log`)}`,
      `request_cpus = ${o.coresPerSlot}`,
    ];
    if (o.memPerSlot !== undefined) lines.push(`request_memory = ${Math.ceil(o.memPerSlot * 1024)}`);
    lines.push('should_transfer_files = IF_NEEDED', 'when_to_transfer_output = ON_EXIT');
    if (o.transferInputFiles.length > 0) lines.push(`transfer_input_files = ${o.transferInputFiles.join(', ')}`);
    if (Object.keys(o.environment).length > 0) lines.push(`environment = ${condorEnvironment(o.environment)}`);
    if (o.requirements) lines.push(`requirements = ${o.requirements}`);
    if (o.project) lines.push(`+ProjectName = "${o.project.replace(/"/g, '\\"')}"`);
    const seconds = Math.ceil(o.walltimeMs / 1000);
    lines.push(`periodic_remove = (JobStatus == 2) && ((time() - EnteredCurrentStatus) > ${seconds})`);
    if (o.schedulerOptions.trim()) lines.push(o.schedulerOptions);
    lines.push(`queue ${o.nodesPerBlock}`);
    return `${lines.join('\n')}\n`;
  }

  protected override async writeSubmitFiles(job: JobSpec, script: string): Promise<void> {
    await super.writeSubmitFiles(job, script);
    await this.writeJobFile(job, this.submitDescriptionPath(job), this.submitDescription(job), 0o600);
  }

  protected submitCommand(job: JobSpec): string {
    return `condor_submit ${shellQuote(this.submitDescriptionPath(job))}`;
  }

  protected parseJobId(result: ExecResult): string | undefined {
    return parseCondorSubmitOutput(result.stdout);
  }

  protected async poll(jobIds: string[]): Promise<Map<string, StatusUpdate>> {
    const attrs = '-af:jt JobStatus ExitCode RemoveReason HoldReason';
    const ids = jobIds.map(shellQuote).join(' ');
    const qCommand = `condor_q ${ids} ${attrs}`;
    const queued = await this.runForStatus(jobIds, 'condor_q', qCommand);
    if (queued.exitCode !== 0) throw new JobStatusError(jobIds, `condor_q exited with code ${queued.exitCode}`, { command: qCommand, ...queued });
    const procs = parseCondorAutoformat(queued.stdout);
    const missing = jobIds.filter((id) => !procs.some((p) => p.cluster === id));
    if (missing.length > 0) {
      const hCommand = `condor_history ${missing.map(shellQuote).join(' ')} ${attrs}`;
      const history = await this.runForStatus(missing, 'condor_history', hCommand);
      procs.push(...parseCondorAutoformat(history.stdout));
    }
    const updates = new Map<string, StatusUpdate>();
    for (const id of jobIds) {
      const mine = procs.filter((p) => p.cluster === id);
      if (mine.length > 0) updates.set(id, combineProcs(mine));
      else if (this.jobs.has(id)) updates.set(id, { state: 'completed', message: 'job left condor_q and condor_history has no record of it' });
    }
    return updates;
  }

  protected kill(jobIds: string[]): Promise<boolean[]> {
    return this.killEach(jobIds, (id) => `condor_rm ${shellQuote(id)}`, 'condor_rm');
  }
}

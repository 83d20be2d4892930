import { lazySchema, z } from '../common/zod.ts';
import { parseOptions } from '../common/validate.ts';
import type { ExecResult } from './channels/channel.ts';
import { ClusterProvider, type JobSpec, type StatusUpdate } from './cluster.ts';
import { JobStatusError } from './errors.ts';
import { SingleNodeLauncher } from './launchers/simple.ts';
import { commonOptionsShape, DEFAULT_WALLTIME_MS, resolveCommonOptions, type JobState, type ResolvedProviderOptions } from './provider.ts';
import { formatHms } from './shell.ts';
import { shellQuote } from '../common/shell-quote.ts';

/** PBS Pro `job_state` letters. */
export const PBSPRO_STATES: Readonly<Record<string, JobState>> = {
  Q: 'pending', // queued
  W: 'pending', // waiting for its start time
  T: 'pending', // being moved
  M: 'pending', // moved to another server
  R: 'running',
  E: 'running', // exiting after having run
  B: 'running', // array job begun
  X: 'completed', // subjob finished (arrays)
  F: 'completed', // finished: see Exit_status
  H: 'held',
  S: 'held', // suspended
  U: 'held', // suspended because the workstation became busy
};

/** The first numeric part of a PBS job id (`1234.server` → `1234`), for matching short and long forms. */
export function pbsIdKey(id: string): string {
  return id.split('.')[0] ?? id;
}

/**
 * Parses the text form of `qstat -f` (PBS Pro and Torque): `Job Id: <id>` blocks of
 * `key = value` lines, where a value may continue on lines that start with a tab.
 */
export function parseQstatFullText(stdout: string): Map<string, Record<string, string>> {
  const jobs = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  let lastKey: string | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^Job Id:\s*(\S+)/.exec(line);
    if (head) {
      current = {};
      lastKey = undefined;
      jobs.set(head[1]!, current);
      continue;
    }
    if (!current) continue;
    const field = /^\s+([\w.]+) = (.*)$/.exec(line);
    if (field) {
      lastKey = field[1]!;
      current[lastKey] = field[2]!;
    } else if (lastKey && /^\t/.test(line)) {
      current[lastKey] += line.trim();
    }
  }
  return jobs;
}

/** Parses `qstat -f -F json` (PBS Pro ≥ 18): `{ Jobs: { "<id>": { job_state, Exit_status, … } } }`. */
export function parseQstatFullJson(stdout: string): Map<string, Record<string, string>> | undefined {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  const jobs = new Map<string, Record<string, string>>();
  if (typeof data !== 'object' || data === null) return undefined;
  const list = (data as { Jobs?: Record<string, Record<string, unknown>> }).Jobs ?? {};
  for (const [id, job] of Object.entries(list)) {
    const fields: Record<string, string> = {};
    for (const [key, value] of Object.entries(job)) if (typeof value !== 'object') fields[key] = String(value);
    jobs.set(id, fields);
  }
  return jobs;
}

/** A PBS job's fields as a status: `job_state`, and `Exit_status`/`exit_status` once finished. */
export function pbsStatus(fields: Record<string, string>, states: Readonly<Record<string, JobState>>): StatusUpdate {
  const code = fields.job_state ?? '';
  let state = states[code] ?? 'unknown';
  const update: StatusUpdate = { state };
  const exitText = fields.Exit_status ?? fields.exit_status;
  if (state === 'completed' && exitText !== undefined && /^-?\d+$/.test(exitText.trim())) {
    const exitCode = Number(exitText);
    update.exitCode = exitCode;
    if (exitCode !== 0) {
      const comment = fields.comment ?? '';
      state = /walltime/i.test(comment) ? 'timeout' : 'failed';
      update.state = state;
      update.message = comment || `exit status ${exitCode}`;
    }
  }
  if (state === 'unknown') update.message = `unrecognised PBS job_state ${JSON.stringify(code)}`;
  return update;
}

const pbsproSchema = lazySchema(() =>
  z
    .object({
      ...commonOptionsShape({ label: 'pbspro' }),
      /** `-q`: the destination queue. @default none: the server's default queue */
      queue: z.string().min(1).optional(),
      /** `-A`: the account charged. @default none */
      account: z.string().min(1).optional(),
      /** CPUs requested per node (`ncpus` in the select statement). @default 1 */
      cpusPerNode: z.number().int().positive().default(1),
      /** More resources for the select statement, e.g. `'ngpus=1:mem=4gb'`. @default none */
      selectOptions: z.string().min(1).optional(),
    })
    .strict(),
);

/**
 * PBSProProvider options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: PBSProProviderOptions = { queue: 'workq', cpusPerNode: 32, selectOptions: 'ngpus=4' };
 * new PBSProProvider(options);
 * ```
 */
export type PBSProProviderOptions = z.input<typeof pbsproSchema>;

export interface ResolvedPBSProProviderOptions extends ResolvedProviderOptions {
  walltimeMs: number;
  queue: string | undefined;
  account: string | undefined;
  cpusPerNode: number;
  selectOptions: string | undefined;
}

/** Validates PBSProProvider options and fills defaults. Throws `ConfigError`. */
export function resolvePBSProProviderOptions(options: PBSProProviderOptions = {}): ResolvedPBSProProviderOptions {
  const parsed = parseOptions(pbsproSchema, options, 'PBSProProvider');
  const common = resolveCommonOptions('PBSProProvider', parsed, { launcher: () => new SingleNodeLauncher(), walltimeMs: DEFAULT_WALLTIME_MS });
  return {
    ...common,
    walltimeMs: common.walltimeMs ?? DEFAULT_WALLTIME_MS,
    queue: parsed.queue,
    account: parsed.account,
    cpusPerNode: parsed.cpusPerNode,
    selectOptions: parsed.selectOptions?.replace(/^:/, ''),
  };
}

/** The job id `qsub` prints (PBS Pro and Torque): one line such as `1234.server`. */
/** `#PBS` lines of a PBS Pro or Torque script; `resources` is the scheduler's own `-l` line (`select=…`, `nodes=…`). */
export function pbsDirectives(
  job: JobSpec,
  options: { walltimeMs: number; queue?: string | undefined; account?: string | undefined },
  resources: string,
): string[] {
  const lines = [
    '#PBS -S /bin/bash',
    `#PBS -N ${job.jobName}`,
    '#PBS -m n',
    `#PBS -l walltime=${formatHms(options.walltimeMs)}`,
    `#PBS -l ${resources}`,
    `#PBS -o ${job.stdoutPath}`,
    `#PBS -e ${job.stderrPath}`,
  ];
  if (options.queue) lines.push(`#PBS -q ${options.queue}`);
  if (options.account) lines.push(`#PBS -A ${options.account}`);
  return lines;
}

export function parseQsubOutput(stdout: string): string | undefined {
  const lines = stdout.trim().split('\n');
  const last = lines[lines.length - 1]?.trim() ?? '';
  return /^\d+(?:\[\d*\])?(?:\.\S+)?$/.test(last) ? last : undefined;
}

/**
 * Reads the statuses of `jobIds` out of `qstat -f` output. Jobs `qstat` no longer knows are
 * finished: like Parsl, they count as completed, since PBS keeps no record to say otherwise
 * (PBS Pro keeps one with `-x` while job history is enabled).
 */
export function matchPbsJobs(
  jobIds: string[],
  found: Map<string, Record<string, string>>,
  states: Readonly<Record<string, JobState>>,
  known: (id: string) => boolean,
): Map<string, StatusUpdate> {
  const byKey = new Map<string, Record<string, string>>();
  for (const [id, fields] of found) byKey.set(pbsIdKey(id), fields);
  const updates = new Map<string, StatusUpdate>();
  for (const id of jobIds) {
    const fields = found.get(id) ?? byKey.get(pbsIdKey(id));
    if (fields) updates.set(id, pbsStatus(fields, states));
    else if (known(id)) updates.set(id, { state: 'completed', message: 'job left qstat without a recorded failure' });
  }
  return updates;
}

/**
 * Blocks as PBS Pro jobs: `qsub`, `qstat -x -f -F json` (finished jobs included while job
 * history is on; the text form of `qstat -f` on servers without JSON output), `qdel`.
 *
 * @example
 * ```ts
 * new PBSProProvider({ queue: 'workq', account: 'ABC123', cpusPerNode: 32, selectOptions: 'ngpus=4',
 *                      nodesPerBlock: 2, walltime: '01:00:00', launcher: new MpiExecLauncher() })
 * ```
 */
export class PBSProProvider extends ClusterProvider<ResolvedPBSProProviderOptions> {
  protected readonly kind = 'PBSProProvider';
  protected readonly submitProgram = 'qsub';
  protected readonly jobIdHint = "a job id such as '1234.server'";

  constructor(options: PBSProProviderOptions = {}) {
    super(resolvePBSProProviderOptions(options));
  }

  protected directives(job: JobSpec): string[] {
    const o = this.options;
    const select = `${o.nodesPerBlock}:ncpus=${o.cpusPerNode}${o.selectOptions ? `:${o.selectOptions}` : ''}`;
    return pbsDirectives(job, o, `select=${select}`);
  }

  protected submitCommand(job: JobSpec): string {
    return `qsub ${shellQuote(job.scriptPath)}`;
  }

  protected parseJobId(result: ExecResult): string | undefined {
    return parseQsubOutput(result.stdout);
  }

  protected async poll(jobIds: string[]): Promise<Map<string, StatusUpdate>> {
    const ids = jobIds.map(shellQuote).join(' ');
    // qstat exits non-zero when any id is unknown, yet prints the others: read stdout whatever the code.
    const command = `qstat -x -f -F json ${ids}`;
    const result = await this.runForStatus(jobIds, 'qstat', command);
    let found = parseQstatFullJson(result.stdout);
    if (found === undefined) {
      const textCommand = `qstat -x -f ${ids}`;
      const text = await this.runForStatus(jobIds, 'qstat', textCommand);
      found = parseQstatFullText(text.stdout);
      if (found.size === 0 && text.exitCode !== 0 && !/Unknown Job Id|Job has finished/i.test(text.stderr)) {
        throw new JobStatusError(jobIds, `qstat exited with code ${text.exitCode}`, { command: textCommand, ...text });
      }
    }
    return matchPbsJobs(jobIds, found, PBSPRO_STATES, (id) => this.jobs.has(id));
  }

  protected kill(jobIds: string[]): Promise<boolean[]> {
    return this.killEach(jobIds, (id) => `qdel ${shellQuote(id)}`, 'qdel');
  }
}

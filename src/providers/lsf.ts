import { lazySchema, z } from '../common/zod.ts';
import { ConfigError } from '../common/errors.ts';
import { parseOptions } from '../common/validate.ts';
import type { ExecResult } from './channels/channel.ts';
import { ClusterProvider, type JobSpec, type StatusUpdate } from './cluster.ts';
import { JobStatusError } from './errors.ts';
import { SingleNodeLauncher } from './launchers/simple.ts';
import { commonOptionsShape, DEFAULT_WALLTIME_MS, resolveCommonOptions, type JobState, type ResolvedProviderOptions } from './provider.ts';
import { toMinutes } from './shell.ts';
import { shellQuote } from '../common/shell-quote.ts';

/** LSF `STAT` values. */
export const LSF_STATES: Readonly<Record<string, JobState>> = {
  PEND: 'pending',
  PROV: 'pending', // resources being provisioned
  WAIT: 'pending', // chunk job waiting
  RUN: 'running',
  DONE: 'completed',
  EXIT: 'failed',
  ZOMBI: 'failed', // killed while its host was unreachable
  PSUSP: 'held', // suspended while pending
  USUSP: 'held', // suspended by its owner or an admin
  SSUSP: 'held', // suspended by LSF
  UNKWN: 'unknown',
};

const lsfSchema = lazySchema(() =>
  z
    .object({
      ...commonOptionsShape({ label: 'lsf' }),
      /** `-q`: the queue. @default none: the scheduler's default queue */
      queue: z.string().min(1).optional(),
      /** `-P`: the project charged. @default none */
      project: z.string().min(1).optional(),
      /** Ask for whole nodes with `-nnodes` (CSM systems such as Summit); otherwise cores with `-n` and `span[ptile]`. @default true */
      requestByNodes: z.boolean().default(true),
      /** Cores per node; needed when `requestByNodes` is false. @default none */
      coresPerNode: z.number().int().positive().optional(),
      /** Submit with `bsub < script` (LSF reads `#BSUB` lines from stdin only on some versions) instead of `bsub script`. @default false */
      bsubRedirection: z.boolean().default(false),
    })
    .strict(),
);

/**
 * LSFProvider options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: LSFProviderOptions = { queue: 'batch', project: 'ABC123', requestByNodes: true };
 * new LSFProvider(options);
 * ```
 */
export type LSFProviderOptions = z.input<typeof lsfSchema>;

export interface ResolvedLSFProviderOptions extends ResolvedProviderOptions {
  walltimeMs: number;
  queue: string | undefined;
  project: string | undefined;
  requestByNodes: boolean;
  coresPerNode: number | undefined;
  bsubRedirection: boolean;
}

/** Validates LSFProvider options and fills defaults. Throws `ConfigError`. */
export function resolveLSFProviderOptions(options: LSFProviderOptions = {}): ResolvedLSFProviderOptions {
  const parsed = parseOptions(lsfSchema, options, 'LSFProvider');
  if (!parsed.requestByNodes && parsed.coresPerNode === undefined) {
    throw new ConfigError('LSFProvider.coresPerNode', 'requestByNodes is false, so coresPerNode is required (blocks are requested by cores)');
  }
  const common = resolveCommonOptions('LSFProvider', parsed, { launcher: () => new SingleNodeLauncher(), walltimeMs: DEFAULT_WALLTIME_MS });
  return {
    ...common,
    walltimeMs: common.walltimeMs ?? DEFAULT_WALLTIME_MS,
    queue: parsed.queue,
    project: parsed.project,
    requestByNodes: parsed.requestByNodes,
    coresPerNode: parsed.coresPerNode,
    bsubRedirection: parsed.bsubRedirection,
  };
}

/** The job id in `bsub` output: `Job <1234> is submitted to queue <batch>.` */
export function parseBsubOutput(stdout: string): string | undefined {
  return /Job <(\d+)> is submitted/.exec(stdout)?.[1];
}

/** `bjobs` output (header `JOBID USER STAT …`) → STAT by job id. */
export function parseBjobs(stdout: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length >= 3 && /^\d+$/.test(cols[0]!)) states.set(cols[0]!, cols[2]!);
  }
  return states;
}

/**
 * Blocks as IBM Spectrum LSF jobs: `bsub`, `bjobs -a` (finished jobs stay for CLEAN_PERIOD), `bkill`.
 *
 * @example
 * ```ts
 * new LSFProvider({ queue: 'batch', project: 'ABC123', nodesPerBlock: 2, launcher: new JsrunLauncher() });
 * ```
 */
export class LSFProvider extends ClusterProvider<ResolvedLSFProviderOptions> {
  protected readonly kind = 'LSFProvider';
  protected readonly submitProgram = 'bsub';
  protected readonly jobIdHint = "'Job <id> is submitted to queue <name>.'";

  constructor(options: LSFProviderOptions = {}) {
    super(resolveLSFProviderOptions(options));
  }

  protected directives(job: JobSpec): string[] {
    const o = this.options;
    const lines = [`#BSUB -J ${job.jobName}`, `#BSUB -W ${toMinutes(o.walltimeMs)}`, `#BSUB -o ${job.stdoutPath}`, `#BSUB -e ${job.stderrPath}`];
    if (o.requestByNodes) lines.push(`#BSUB -nnodes ${o.nodesPerBlock}`);
    else {
      const perNode = o.coresPerNode ?? 1;
      lines.push(`#BSUB -n ${perNode * o.nodesPerBlock}`, `#BSUB -R "span[ptile=${perNode}]"`);
    }
    if (o.queue) lines.push(`#BSUB -q ${o.queue}`);
    if (o.project) lines.push(`#BSUB -P ${o.project}`);
    return lines;
  }

  protected submitCommand(job: JobSpec): string {
    return this.options.bsubRedirection ? `bsub < ${shellQuote(job.scriptPath)}` : `bsub ${shellQuote(job.scriptPath)}`;
  }

  protected parseJobId(result: ExecResult): string | undefined {
    return parseBsubOutput(result.stdout);
  }

  protected async poll(jobIds: string[]): Promise<Map<string, StatusUpdate>> {
    const command = `bjobs -a ${jobIds.map(shellQuote).join(' ')}`;
    const result = await this.runForStatus(jobIds, 'bjobs', command);
    const states = parseBjobs(result.stdout);
    // Unknown ids print "Job <id> is not found" and make bjobs exit non-zero.
    if (states.size === 0 && result.exitCode !== 0 && !/is not found/.test(result.stderr)) {
      throw new JobStatusError(jobIds, `bjobs exited with code ${result.exitCode}`, { command, ...result });
    }
    const updates = new Map<string, StatusUpdate>();
    for (const id of jobIds) {
      const stat = states.get(id);
      if (stat !== undefined) {
        const state = LSF_STATES[stat] ?? 'unknown';
        updates.set(id, state === 'unknown' ? { state, message: `LSF state ${JSON.stringify(stat)}` } : { state });
      } else if (this.jobs.has(id)) {
        updates.set(id, { state: 'completed', message: 'job left bjobs without a recorded failure' });
      }
    }
    return updates;
  }

  protected kill(jobIds: string[]): Promise<boolean[]> {
    return this.killEach(jobIds, (id) => `bkill ${shellQuote(id)}`, 'bkill');
  }
}

import { lazySchema, z } from '../common/zod.ts';
import { parseOptions } from '../common/validate.ts';
import type { ExecResult } from './channels/channel.ts';
import { ClusterProvider, type JobSpec, type StatusUpdate } from './cluster.ts';
import { JobStatusError } from './errors.ts';
import { SingleNodeLauncher } from './launchers/simple.ts';
import { matchPbsJobs, parseQsubOutput, parseQstatFullText, pbsDirectives } from './pbspro.ts';
import { commonOptionsShape, DEFAULT_WALLTIME_MS, resolveCommonOptions, type JobState, type ResolvedProviderOptions } from './provider.ts';
import { shellQuote } from '../common/shell-quote.ts';

/** Torque `job_state` letters. */
export const TORQUE_STATES: Readonly<Record<string, JobState>> = {
  Q: 'pending',
  W: 'pending', // waiting for its execution time
  T: 'pending', // being moved
  R: 'running',
  E: 'running', // exiting after having run
  C: 'completed', // see exit_status
  H: 'held',
  S: 'held', // suspended
};

const torqueSchema = lazySchema(() =>
  z
    .object({
      ...commonOptionsShape({ label: 'torque' }),
      /** `-q`: the destination queue. @default none: the server's default queue */
      queue: z.string().min(1).optional(),
      /** `-A`: the account charged. @default none */
      account: z.string().min(1).optional(),
    })
    .strict(),
);

/**
 * TorqueProvider options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: TorqueProviderOptions = { queue: 'batch', account: 'ABC123' };
 * new TorqueProvider(options);
 * ```
 */
export type TorqueProviderOptions = z.input<typeof torqueSchema>;

export interface ResolvedTorqueProviderOptions extends ResolvedProviderOptions {
  walltimeMs: number;
  queue: string | undefined;
  account: string | undefined;
}

/** Validates TorqueProvider options and fills defaults. Throws `ConfigError`. */
export function resolveTorqueProviderOptions(options: TorqueProviderOptions = {}): ResolvedTorqueProviderOptions {
  const parsed = parseOptions(torqueSchema, options, 'TorqueProvider');
  const common = resolveCommonOptions('TorqueProvider', parsed, { launcher: () => new SingleNodeLauncher(), walltimeMs: DEFAULT_WALLTIME_MS });
  return { ...common, walltimeMs: common.walltimeMs ?? DEFAULT_WALLTIME_MS, queue: parsed.queue, account: parsed.account };
}

/**
 * Blocks as Torque jobs: `qsub` (with `-l nodes=N:ppn=tasksPerNode`), `qstat -f` (finished
 * jobs show as `C` with their `exit_status` for `keep_completed` seconds), `qdel`.
 *
 * @example
 * ```ts
 * new TorqueProvider({ queue: 'batch', account: 'ABC123', walltime: '02:00:00', workerInit: 'module load nodejs' });
 * ```
 */
export class TorqueProvider extends ClusterProvider<ResolvedTorqueProviderOptions> {
  protected readonly kind = 'TorqueProvider';
  protected readonly submitProgram = 'qsub';
  protected readonly jobIdHint = "a job id such as '1234.server'";

  constructor(options: TorqueProviderOptions = {}) {
    super(resolveTorqueProviderOptions(options));
  }

  protected directives(job: JobSpec): string[] {
    const o = this.options;
    return pbsDirectives(job, o, `nodes=${o.nodesPerBlock}:ppn=${job.tasksPerNode}`);
  }

  protected submitCommand(job: JobSpec): string {
    return `qsub ${shellQuote(job.scriptPath)}`;
  }

  protected parseJobId(result: ExecResult): string | undefined {
    return parseQsubOutput(result.stdout);
  }

  protected async poll(jobIds: string[]): Promise<Map<string, StatusUpdate>> {
    // Torque's -x means XML, not history: plain -f, read whatever the exit code (unknown ids make it 153).
    const command = `qstat -f ${jobIds.map(shellQuote).join(' ')}`;
    const result = await this.runForStatus(jobIds, 'qstat', command);
    const found = parseQstatFullText(result.stdout);
    if (found.size === 0 && result.exitCode !== 0 && !/Unknown Job Id/i.test(result.stderr)) {
      throw new JobStatusError(jobIds, `qstat exited with code ${result.exitCode}`, { command, ...result });
    }
    return matchPbsJobs(jobIds, found, TORQUE_STATES, (id) => this.jobs.has(id));
  }

  protected kill(jobIds: string[]): Promise<boolean[]> {
    return this.killEach(jobIds, (id) => `qdel ${shellQuote(id)}`, 'qdel');
  }
}

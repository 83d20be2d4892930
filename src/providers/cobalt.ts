import { lazySchema, z } from '../common/zod.ts';
import { parseOptions } from '../common/validate.ts';
import type { ExecResult } from './channels/channel.ts';
import { ClusterProvider, type JobSpec, type StatusUpdate } from './cluster.ts';
import { JobStatusError } from './errors.ts';
import { AprunLauncher } from './launchers/mpi.ts';
import { checkAlias, commonOptionsShape, DEFAULT_WALLTIME_MS, resolveCommonOptions, type JobState, type ResolvedProviderOptions } from './provider.ts';
import { toMinutes } from './shell.ts';
import { shellQuote } from '../common/shell-quote.ts';

/** Cobalt job states (`qstat` State column, lower-cased). */
export const COBALT_STATES: Readonly<Record<string, JobState>> = {
  queued: 'pending',
  starting: 'pending',
  running: 'running',
  exiting: 'running', // finishing
  killing: 'cancelled',
  user_hold: 'held',
  admin_hold: 'held',
  dep_hold: 'held',
  maxrun_hold: 'held',
  dep_fail: 'failed',
};

const cobaltSchema = lazySchema(() =>
  z
    .object({
      ...commonOptionsShape({ label: 'cobalt' }),
      /** `-q`: the queue. @default none: the scheduler's default queue */
      queue: z.string().min(1).optional(),
      /** `-A`: the project charged. @default none: the user's default project */
      project: z.string().min(1).optional(),
      /** Parsl's name for `project`. @default none */
      account: z.string().min(1).optional(),
    })
    .strict(),
);

/**
 * CobaltProvider options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: CobaltProviderOptions = { queue: 'debug-flat-quad', project: 'MyProject' };
 * new CobaltProvider(options);
 * ```
 */
export type CobaltProviderOptions = z.input<typeof cobaltSchema>;

export interface ResolvedCobaltProviderOptions extends ResolvedProviderOptions {
  walltimeMs: number;
  queue: string | undefined;
  project: string | undefined;
}

/** Validates CobaltProvider options and fills defaults. Throws `ConfigError`. */
export function resolveCobaltProviderOptions(options: CobaltProviderOptions = {}): ResolvedCobaltProviderOptions {
  const parsed = parseOptions(cobaltSchema, options, 'CobaltProvider');
  const project = checkAlias('CobaltProvider', ['project', parsed.project], ['account', parsed.account]);
  const common = resolveCommonOptions('CobaltProvider', parsed, { launcher: () => new AprunLauncher(), walltimeMs: DEFAULT_WALLTIME_MS });
  return { ...common, walltimeMs: common.walltimeMs ?? DEFAULT_WALLTIME_MS, queue: parsed.queue, project };
}

/** The job id Cobalt's `qsub` prints: a number on the last line of stdout. */
export function parseCobaltQsubOutput(stdout: string): string | undefined {
  const last = stdout.trim().split('\n').pop()?.trim() ?? '';
  return /^\d+$/.test(last) ? last : undefined;
}

/** Cobalt `qstat` table (`JobID User WallTime Nodes State Location`) → state by job id. */
export function parseCobaltQstat(stdout: string): Map<string, string> {
  const states = new Map<string, string>();
  let stateColumn = 4;
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] === 'JobID') {
      const at = cols.indexOf('State');
      if (at >= 0) stateColumn = at;
      continue;
    }
    const state = cols[stateColumn];
    if (/^\d+$/.test(cols[0] ?? '') && state) states.set(cols[0]!, state.toLowerCase());
  }
  return states;
}

/**
 * Blocks as Cobalt jobs (ALCF's former scheduler): `qsub -n <nodes> -t <minutes>` with the
 * queue and project on the command line, as Cobalt wants them, `qstat -u $USER`, `qdel`.
 * The default launcher is `AprunLauncher` (Theta was a Cray).
 *
 * @example
 * ```ts
 * new CobaltProvider({ queue: 'debug-flat-quad', project: 'MyProject', launcher: new AprunLauncher({ overrides: '-d 64' }) });
 * ```
 */
export class CobaltProvider extends ClusterProvider<ResolvedCobaltProviderOptions> {
  protected readonly kind = 'CobaltProvider';
  protected readonly submitProgram = 'qsub';
  protected readonly jobIdHint = 'a bare numeric job id';

  constructor(options: CobaltProviderOptions = {}) {
    super(resolveCobaltProviderOptions(options));
  }

  protected directives(job: JobSpec): string[] {
    return [`#COBALT -o ${job.stdoutPath}`, `#COBALT -e ${job.stderrPath}`];
  }

  protected submitCommand(job: JobSpec): string {
    const o = this.options;
    const parts = ['qsub', '-n', String(o.nodesPerBlock), '-t', String(toMinutes(o.walltimeMs))];
    if (o.queue) parts.push('-q', shellQuote(o.queue));
    if (o.project) parts.push('-A', shellQuote(o.project));
    parts.push(shellQuote(job.scriptPath));
    return parts.join(' ');
  }

  protected parseJobId(result: ExecResult): string | undefined {
    return parseCobaltQsubOutput(result.stdout);
  }

  protected async poll(jobIds: string[]): Promise<Map<string, StatusUpdate>> {
    const command = 'qstat -u "$USER"';
    const result = await this.runForStatus(jobIds, 'qstat', command);
    if (result.exitCode !== 0) throw new JobStatusError(jobIds, `qstat exited with code ${result.exitCode}`, { command, ...result });
    const states = parseCobaltQstat(result.stdout);
    const updates = new Map<string, StatusUpdate>();
    for (const id of jobIds) {
      const code = states.get(id);
      if (code !== undefined) {
        const state = COBALT_STATES[code] ?? 'unknown';
        updates.set(id, state === 'unknown' ? { state, message: `Cobalt state ${JSON.stringify(code)}` } : { state });
      } else if (this.jobs.has(id)) {
        updates.set(id, { state: 'completed', message: 'job left qstat without a recorded failure' });
      }
    }
    return updates;
  }

  protected kill(jobIds: string[]): Promise<boolean[]> {
    return this.killEach(jobIds, (id) => `qdel ${shellQuote(id)}`, 'qdel');
  }
}

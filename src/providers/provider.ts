/**
 * The common shape of execution providers: how a block (a pilot job) is submitted to a
 * scheduler, watched and cancelled, and the options every provider shares.
 */
import { lazySchema, z } from '../common/zod.ts';
import { ConfigError } from '../common/errors.ts';
import { durationSchema, parseDuration } from '../common/validate.ts';
import type { Channel } from './channels/channel.ts';
import { LocalChannel } from './channels/local.ts';
import { isLauncher, type Launcher } from './launchers/launcher.ts';

/**
 * The state of a block's job, as Parsl names them; each provider maps its scheduler's codes onto these.
 *
 * @example
 * ```ts
 * const state: JobState = 'PENDING';
 * TERMINAL_JOB_STATES.has(state);       // false
 * ```
 */
export type JobState =
  /** Queued; waiting for resources (Slurm PD/CF, PBS Q/W/T, Grid Engine qw, HTCondor idle, pod Pending). */
  | 'pending'
  /** Running, or finishing (Slurm R/CG, PBS R/E/B, Grid Engine r/t, pod Running). */
  | 'running'
  /** Ended with exit code 0 (or left the scheduler's view without a recorded failure). */
  | 'completed'
  /** Ended with a non-zero exit code, a node failure, out of memory, a boot failure… */
  | 'failed'
  /** Cancelled, by `cancel` or by someone else (Slurm CA, HTCondor removed). */
  | 'cancelled'
  /** Killed for exceeding its walltime (Slurm TO). */
  | 'timeout'
  /** Held or suspended by the scheduler or an administrator; it may go on later. */
  | 'held'
  /** The scheduler reports a state that maps to none of the above, or the job is not known. */
  | 'unknown';

/**
 * States a job never leaves; a provider stops asking the scheduler about a job in one of them.
 *
 * @example
 * ```ts
 * TERMINAL_JOB_STATES.has('COMPLETED');  // true
 * TERMINAL_JOB_STATES.has('HELD');       // false: it may go on later
 * ```
 */
export const TERMINAL_JOB_STATES: ReadonlySet<JobState> = new Set<JobState>(['completed', 'failed', 'cancelled', 'timeout']);

/**
 * What a provider knows about one job.
 *
 * @example
 * ```ts
 * const [status]: JobStatus[] = await new SlurmProvider().status(['1234']);
 * if (status?.state === 'FAILED') console.log(status.exitCode, status.message);
 * ```
 */
export interface JobStatus {
  /** The scheduler's id of the job. */
  jobId: string;
  /** Its state, as Parsl names them. */
  state: JobState;
  /** The job's exit code, when the scheduler reports one. */
  exitCode?: number | undefined;
  /** Why the job is in this state, in the scheduler's words when it gives any. */
  message?: string | undefined;
  /** Where the job's submit script writes its stdout, on the channel's side. */
  stdoutPath?: string | undefined;
  /** Where the job's submit script writes its stderr, on the channel's side. */
  stderrPath?: string | undefined;
}

/**
 * Per-block settings given to `submit`.
 *
 * @example
 * ```ts
 * const options: SubmitOptions = { jobName: 'parsl.block.0', tasksPerNode: 1 };
 * ```
 */
export interface SubmitOptions {
  /**
   * Environment variables the block's command gets (exported in the submit script, before
   * `workerInit`; a container's `env` on Kubernetes). Scripts are written readable by their owner only.
   * @default none
   */
  env?: Record<string, string> | undefined;
  /**
   * Where the submit script and the block's stdout/stderr go when the channel is this machine
   * (the run directory's `submit_scripts/`); a remote channel keeps its own `scriptDir`.
   * @default the channel's `scriptDir`
   */
  scriptDir?: string | undefined;
}

/**
 * A provider obtains blocks from a resource manager. It runs the scheduler's commands through
 * its `channel` (this machine or a login node over SSH) and never spawns processes itself.
 *
 * @example
 * ```ts
 * const provider: ExecutionProvider = new SlurmProvider({ partition: 'debug' });
 * const [status] = await provider.status(['1234']);
 * console.log(status?.state);           // 'RUNNING', 'COMPLETED', …
 * ```
 */
export interface ExecutionProvider {
  /** Name of this provider in logs and errors, e.g. `slurm`. */
  readonly label: string;
  /** The options, validated, with defaults filled in. */
  readonly options: ResolvedProviderOptions;
  /** Where the scheduler's commands run. */
  readonly channel: Channel;
  /**
   * Submits one block that runs `command` (`tasksPerNode` copies per node, through the
   * launcher) and resolves with the scheduler's job id. Rejects with `SubmitError`.
   */
  submit(command: string, tasksPerNode: number, jobName: string, options?: SubmitOptions): Promise<string>;
  /** The state of each job, in the order given. Rejects with `JobStatusError` if the scheduler cannot be asked. */
  status(jobIds: string[]): Promise<JobStatus[]>;
  /**
   * Cancels jobs: `true` for each job the scheduler accepted to cancel, `false` where it refused
   * or the job had already ended. A cancelled job's state is `cancelled` from then on. Rejects
   * with `JobCancelError` when the cancel command cannot be run at all.
   */
  cancel(jobIds: string[]): Promise<boolean[]>;
}

/**
 * Options every provider has, resolved: every field present, durations in milliseconds.
 *
 * @example
 * ```ts
 * const provider = new SlurmProvider({ walltime: '01:00:00' });
 * const resolved: ResolvedProviderOptions = provider.options;
 * console.log(resolved.walltimeMs);     // 3600000
 * ```
 */
export interface ResolvedProviderOptions {
  /** Name of the provider in logs and errors. */
  label: string;
  /** Where scheduler commands run. */
  channel: Channel;
  /** Nodes in each block. */
  nodesPerBlock: number;
  /** Blocks submitted at start. */
  initBlocks: number;
  /** Fewest blocks kept while idle. */
  minBlocks: number;
  /** Most blocks at once. */
  maxBlocks: number;
  /** Ratio of blocks to outstanding work, 0 to 1. */
  parallelism: number;
  /** Walltime of each block; `undefined` for providers that run blocks without a limit. */
  walltimeMs: number | undefined;
  /** Shell lines run before the command, e.g. `module load …` or `source env/bin/activate`. */
  workerInit: string;
  /** Raw lines added to the submit script's header, e.g. `#SBATCH --gres=gpu:1`. */
  schedulerOptions: string;
  /** How the block's command starts on its nodes. */
  launcher: Launcher;
  /** How long a scheduler command may run, in ms. */
  cmdTimeoutMs: number;
}

/** Default walltime of a block on a batch scheduler: ten minutes, as Parsl's. */
export const DEFAULT_WALLTIME_MS = 10 * 60_000;
/** Default time a scheduler command may take: ten seconds, as Parsl's `cmd_timeout`. */
export const DEFAULT_CMD_TIMEOUT_MS = 10_000;

/** Whether `value` implements `Channel`. */
export function isChannel(value: unknown): value is Channel {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Partial<Channel>;
  return typeof c.exec === 'function' && typeof c.writeFile === 'function' && typeof c.scriptDir === 'string';
}

/** A walltime: `'HH:MM:SS'` (as Parsl writes it), a duration string (`'30m'`, `'2h'`) or milliseconds. */
export const walltimeSchema = lazySchema(() =>
  z
    .union([z.number(), z.string()])
    .transform((value) => {
      if (typeof value === 'string') {
        const hms = /^\s*(\d+):(\d{1,2}):(\d{1,2})\s*$/.exec(value);
        if (hms) return (Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3])) * 1000;
      }
      return parseDuration(value);
    })
    .refine((ms) => Number.isFinite(ms) && ms > 0, {
      message: "expected a positive walltime: 'HH:MM:SS', a duration such as '30m' or '2h', or milliseconds",
    }),
);

/** Shell lines: one string, or an array joined with newlines. */
export const linesSchema = lazySchema(() => z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v.join('\n') : v)));

export const channelSchema = lazySchema(() => z.custom<Channel>(isChannel, { message: 'expected a channel such as new LocalChannel()' }));
export const launcherSchema = lazySchema(() => z.custom<Launcher>(isLauncher, { message: 'expected a launcher such as new SrunLauncher()' }));

export interface CommonDefaults {
  label: string;
  /** @default 1 */
  maxBlocks?: number;
}

/** The zod shape of the common options, to spread into each provider's schema. */
export function commonOptionsShape(defaults: CommonDefaults) {
  return {
    /** Name of the provider in logs and errors. @default the provider's name, e.g. 'slurm' */
    label: z.string().min(1).default(defaults.label),
    /** Where scheduler commands run. @default new LocalChannel() */
    channel: channelSchema.optional(),
    /** Nodes in each block. @default 1 */
    nodesPerBlock: z.number().int().positive().default(1),
    /** Blocks submitted at start. @default 1 */
    initBlocks: z.number().int().min(0).default(1),
    /** Fewest blocks kept while idle. @default 0 */
    minBlocks: z.number().int().min(0).default(0),
    /** Most blocks at once. @default 1 */
    maxBlocks: z.number().int().min(0).default(defaults.maxBlocks ?? 1),
    /** Ratio of blocks to outstanding work the strategy aims at, between 0 and 1. @default 1 */
    parallelism: z.number().min(0).max(1).default(1),
    /** Walltime of each block: `'HH:MM:SS'`, `'30m'`, or milliseconds. @default '00:10:00' on batch schedulers */
    walltime: walltimeSchema.optional(),
    /** Shell lines run before the command. @default '' */
    workerInit: linesSchema.default(''),
    /** Raw lines added to the submit script's header. @default '' */
    schedulerOptions: linesSchema.default(''),
    /** How the command is started on the block's nodes. @default SingleNodeLauncher (AprunLauncher for Cobalt, SimpleLauncher for AdHoc) */
    launcher: launcherSchema.optional(),
    /** How long a scheduler command may run. @default '10s' */
    cmdTimeout: durationSchema.default(DEFAULT_CMD_TIMEOUT_MS),
  };
}

type CommonParsed = {
  label: string;
  channel?: Channel | undefined;
  nodesPerBlock: number;
  initBlocks: number;
  minBlocks: number;
  maxBlocks: number;
  parallelism: number;
  walltime?: number | undefined;
  workerInit: string;
  schedulerOptions: string;
  launcher?: Launcher | undefined;
  cmdTimeout: number;
};

/**
 * Fills the common options' machine-dependent defaults and rejects contradictions between
 * them; each contradiction names both options.
 */
export function resolveCommonOptions(
  root: string,
  parsed: CommonParsed,
  defaults: { launcher: () => Launcher; walltimeMs: number | undefined },
): ResolvedProviderOptions {
  const { minBlocks, maxBlocks, initBlocks } = parsed;
  if (minBlocks > maxBlocks) {
    throw new ConfigError(`${root}.minBlocks`, `minBlocks (${minBlocks}) is greater than maxBlocks (${maxBlocks}); minBlocks must not exceed maxBlocks`);
  }
  if (initBlocks < minBlocks) {
    throw new ConfigError(
      `${root}.initBlocks`,
      `initBlocks (${initBlocks}) is less than minBlocks (${minBlocks}); initBlocks must lie between minBlocks and maxBlocks`,
    );
  }
  if (initBlocks > maxBlocks) {
    throw new ConfigError(
      `${root}.initBlocks`,
      `initBlocks (${initBlocks}) is greater than maxBlocks (${maxBlocks}); initBlocks must lie between minBlocks and maxBlocks`,
    );
  }
  return {
    label: parsed.label,
    channel: parsed.channel ?? new LocalChannel(),
    nodesPerBlock: parsed.nodesPerBlock,
    initBlocks,
    minBlocks,
    maxBlocks,
    parallelism: parsed.parallelism,
    walltimeMs: parsed.walltime ?? defaults.walltimeMs,
    workerInit: parsed.workerInit,
    schedulerOptions: parsed.schedulerOptions,
    launcher: parsed.launcher ?? defaults.launcher(),
    cmdTimeoutMs: parsed.cmdTimeout,
  };
}

/** Throws `ConfigError` naming both options when `a` and `b` are both set to different values. */
export function checkAlias<T>(root: string, a: [name: string, value: T | undefined], b: [name: string, value: T | undefined]): T | undefined {
  if (a[1] !== undefined && b[1] !== undefined && a[1] !== b[1]) {
    throw new ConfigError(`${root}.${a[0]}`, `${a[0]} and ${b[0]} are two names for the same option and were given different values`);
  }
  return a[1] ?? b[1];
}

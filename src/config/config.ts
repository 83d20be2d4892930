import { lazySchema, z } from '../common/zod.ts';
import { ConfigError } from '../common/errors.ts';
import { isExecutor, type Executor } from '../executors/executor.ts';
import { MAIN_THREAD_EXECUTOR_LABEL } from '../executors/executor.ts';
import { ThreadPoolExecutor } from '../executors/thread-executor.ts';
import { durationSchema, parseOptions, periodSchema } from '../common/validate.ts';
import { defaultRunDir } from '../dataflow/run-dir.ts';
import { MonitoringHub } from '../monitoring/hub.ts';

/**
 * What a retry handler is told about the failed task.
 *
 * @example
 * ```ts
 * load(new Config({
 *   retries: 2,
 *   retryHandler: (_error, task: RetryTaskInfo) => { console.log(task.appName, task.tries); return 1; },
 * }));
 * ```
 */
export interface RetryTaskInfo {
  /** The task's id (`future.tid`). */
  taskId: number;
  /** The app's name. */
  appName: string;
  /** Tries so far, this one included. */
  tries: number;
  /** Sum of the costs of earlier failures. */
  failCost: number;
  /** Label of the executor the failed try ran on. */
  executor: string;
}

/**
 * Decides how much a failure costs: the task is retried while the sum of costs stays at or
 * under `retries`. Return 0 to retry for free, `Infinity` to give up at once.
 *
 * @example
 * ```ts
 * const handler: RetryHandler = (error, task) => (error instanceof WorkerLost ? 0 : task.tries < 3 ? 1 : Infinity);
 * load(new Config({ retries: 5, retryHandler: handler }));
 * ```
 */
export type RetryHandler = (error: unknown, task: RetryTaskInfo) => number;

const configSchema = lazySchema(() =>
  z
    .object({
      /** Where tasks run. @default [new ThreadPoolExecutor()] */
      executors: z
        .array(z.custom<Executor>(isExecutor, { message: 'expected an executor such as new ThreadPoolExecutor({...})' }))
        .min(1)
        .optional(),
      /** Whether apps made with `{ cache: true }` reuse the outcome (result or error) of identical calls within the run. @default true */
      appCache: z.boolean().default(true),
      /** How many times a failed task is tried again. @default 0 */
      retries: z.number().int().min(0).default(0),
      /**
       * Weighs each failure against `retries` (Parsl's `retry_handler`): consulted on every failure,
       * also with `retries: 0`; the task is tried again while the summed costs stay within `retries`.
       * A handler that throws fails the task with its error (the app's error as its `cause`).
       * @default none: every failure costs 1
       */
      retryHandler: z.custom<RetryHandler>((v) => typeof v === 'function', { message: 'expected a function (error, task) => cost' }).optional(),
      /**
       * What leaving an `await using` scope does: `cleanup` stops at once and fails what is still
       * outstanding, `wait` first waits for outstanding tasks, `skip` does nothing.
       * @default 'cleanup'
       */
      exitMode: z.enum(['cleanup', 'wait', 'skip']).default('cleanup'),
      /**
       * How executors with blocks scale: `simple` submits blocks for outstanding work (up to
       * `maxBlocks`, by `parallelism`) and cancels blocks idle longer than `maxIdleTime` (down
       * to `minBlocks`); `none` keeps the `initBlocks` it started with.
       * @default 'simple'
       */
      strategy: z.enum(['simple', 'none']).default('simple'),
      /** How often the strategy looks at the work. @default '5s' */
      strategyPeriod: periodSchema.default(5_000),
      /** How long a block may sit idle before the strategy cancels it. @default '120s' */
      maxIdleTime: durationSchema.default(120_000),
      /**
       * Where each run gets its numbered directory (`runinfo/000`, …): checkpoint, task logs, submit
       * scripts, NATS store. @default $PARSL_TS_RUN_DIR, else 'runinfo'
       */
      runDir: z.string().min(1).optional(),
      /**
       * When results of cached apps are written to `<run dir>/checkpoint/` (Parsl's checkpoint_mode):
       * `task_exit` before each future resolves, `periodic` every `checkpointPeriod`, `dfk_exit` at
       * cleanup, `manual` on `dfk().checkpoint()`. @default none
       */
      checkpointMode: z.enum(['task_exit', 'periodic', 'dfk_exit', 'manual']).optional(),
      /** How often `periodic` checkpoints are written: ms, `'30m'`, or Parsl's `'HH:MM:SS'`. @default '30m' */
      checkpointPeriod: periodSchema.default(30 * 60_000),
      /**
       * Resume a run that ended (or was killed) before its tasks were done: `'latest'` (the newest
       * run of `runDir`) or a run directory. The run goes on in that directory: calls whose results
       * are in its checkpoint end `memo_done` without running, calls still running on its HTEX
       * blocks are adopted. With it, `checkpointMode` defaults to `'task_exit'` and every app is
       * cached unless it says `cache: false`. `parsl-ts run --resume` sets it for every kernel.
       * @default none
       */
      resume: z.string().min(1).optional(),
      /** Earlier checkpoints whose results cached calls reuse: see `getAllCheckpoints()`, `getLastCheckpoint()`. @default [] */
      checkpointFiles: z.array(z.string().min(1)).default([]),
      /** Records the run in an SQLite database (Parsl's schema) that `parsl-ts monitor` shows. @default none */
      // By class name too: a config module may load another copy of parsl-ts (`parsl-ts run --config`).
      monitoring: z
        .custom<MonitoringHub>((v) => v instanceof MonitoringHub || (v as object | null)?.constructor?.name === 'MonitoringHub', {
          message: 'expected new MonitoringHub({...})',
        })
        .optional(),
      /** One live progress line (done, running, pending, failed, rate, ETA) while tasks run. @default on when stdout is a terminal */
      progress: z.boolean().optional(),
    })
    .strict(),
);

/**
 * Config options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: ConfigOptions = { retries: 2, checkpointMode: 'task_exit', runDir: 'runs' };
 * load(new Config(options));
 * ```
 */
export type ConfigOptions = z.input<typeof configSchema>;

/**
 * The configuration of one run: where tasks go and how failures are handled. Validated at
 * construction: an unknown option, a wrong type or a contradiction throws `ConfigError`
 * naming the option.
 *
 * @example
 * ```ts
 * load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 4 })], retries: 2 }));
 * ```
 */
export class Config {
  /** Where tasks run (`executors` option). */
  readonly executors: Executor[];
  /** How many more tries a failed task gets. */
  readonly retries: number;
  /** Whether cached apps reuse earlier outcomes in this run. */
  readonly appCache: boolean;
  /** What each failure costs; `undefined`: 1 each. */
  readonly retryHandler: RetryHandler | undefined;
  /** What the end of the script does with outstanding tasks. */
  readonly exitMode: 'cleanup' | 'wait' | 'skip';
  /** How executors scale their blocks. */
  readonly strategy: 'simple' | 'none';
  /** `strategyPeriod`, in ms. */
  readonly strategyPeriodMs: number;
  /** `maxIdleTime`, in ms. */
  readonly maxIdleTimeMs: number;
  /** Where each run gets its numbered directory. */
  readonly runDir: string;
  /** When results are checkpointed; `undefined`: never. */
  readonly checkpointMode: 'task_exit' | 'periodic' | 'dfk_exit' | 'manual' | undefined;
  /** `checkpointPeriod`, in ms. */
  readonly checkpointPeriodMs: number;
  /** Earlier checkpoints that cached calls read. */
  readonly checkpointFiles: readonly string[];
  /** The run this one resumes (`'latest'` or a run directory); `undefined`: a new run. */
  readonly resume: string | undefined;
  /** The monitoring hub; `undefined`: no monitoring. */
  readonly monitoring: MonitoringHub | undefined;
  /** Whether the progress line is shown. */
  readonly progress: boolean;

  constructor(options: ConfigOptions = {}) {
    const parsed = parseOptions(configSchema, options, 'Config');
    this.executors = parsed.executors ?? [new ThreadPoolExecutor()];
    this.retries = parsed.retries;
    this.appCache = parsed.appCache;
    this.retryHandler = parsed.retryHandler;
    this.exitMode = parsed.exitMode;
    this.strategy = parsed.strategy;
    this.strategyPeriodMs = parsed.strategyPeriod;
    this.maxIdleTimeMs = parsed.maxIdleTime;
    this.runDir = parsed.runDir ?? defaultRunDir();
    this.checkpointMode = parsed.checkpointMode;
    this.checkpointPeriodMs = parsed.checkpointPeriod;
    this.checkpointFiles = parsed.checkpointFiles;
    this.resume = parsed.resume;
    this.monitoring = parsed.monitoring;
    this.progress = parsed.progress ?? process.stdout.isTTY === true;
    const seen = new Set<string>();
    this.executors.forEach((executor, i) => {
      if (executor.label === MAIN_THREAD_EXECUTOR_LABEL) {
        throw new ConfigError(`Config.executors[${i}].label`, `'${MAIN_THREAD_EXECUTOR_LABEL}' is reserved for join apps`);
      }
      if (seen.has(executor.label)) {
        throw new ConfigError(
          `Config.executors[${i}].label`,
          `'${executor.label}' is used by two executors; each executor needs its own label`,
        );
      }
      seen.add(executor.label);
    });
  }
}

/**
 * The options that make a config equal to `config`, field by field, so that a config can be
 * rebuilt with some of them replaced (`parsl-ts run --retries 2 --config c.ts`). Works for a
 * config made by another copy of parsl-ts too. Each option is listed: a new option that is
 * not carried over fails to compile here.
 */
export function configOptionsOf(config: Config): Required<Omit<ConfigOptions, 'retryHandler' | 'checkpointMode' | 'monitoring' | 'resume'>> & Pick<ConfigOptions, 'retryHandler' | 'checkpointMode' | 'monitoring' | 'resume'> {
  const options = {
    executors: config.executors,
    appCache: config.appCache,
    retries: config.retries,
    retryHandler: config.retryHandler,
    exitMode: config.exitMode,
    strategy: config.strategy,
    strategyPeriod: config.strategyPeriodMs,
    maxIdleTime: config.maxIdleTimeMs,
    runDir: config.runDir,
    checkpointMode: config.checkpointMode,
    checkpointPeriod: config.checkpointPeriodMs,
    checkpointFiles: [...config.checkpointFiles],
    resume: config.resume,
    monitoring: config.monitoring,
    progress: config.progress,
  } satisfies Record<keyof ConfigOptions, unknown>;
  return options;
}

import { lazySchema, z } from '../common/zod.ts';
import { durationSchema, parseOptions } from '../common/validate.ts';
import { parseLoggingEndpoint } from './endpoint.ts';

/**
 * Options of `MonitoringHub` (Parsl's names, camelCase).
 *
 * @example
 * ```ts
 * const options: MonitoringHubOptions = { workflowName: 'sweep', resourceMonitoringInterval: '10s' };
 * new MonitoringHub(options);
 * ```
 */
export interface MonitoringHubOptions {
  /**
   * Where the database is: an SQLite URL as SQLAlchemy reads it, `sqlite:///relative.db` or
   * `sqlite:////absolute/path.db`. @default `sqlite:///<runDir>/monitoring.db`, shared by the
   * runs of that `runDir`.
   */
  loggingEndpoint?: string | undefined;
  /** The workflow's name in the dashboard. @default the script's file name */
  workflowName?: string | undefined;
  /** @default the start time of the run */
  workflowVersion?: string | undefined;
  /** Sample CPU and memory of the processes that run tasks (not of thread-pool tasks). @default true */
  resourceMonitoringEnabled?: boolean | undefined;
  /** How often a running task's processes are sampled: ms, or a string such as '30s'. @default '30s' (Parsl's) */
  resourceMonitoringInterval?: number | string | undefined;
}

/** Parsl's default resource sampling interval. */
export const DEFAULT_RESOURCE_INTERVAL_MS = 30_000;

const schema = lazySchema(() =>
  z
    .object({
      loggingEndpoint: z
        .string()
        .superRefine((value, ctx) => {
          try {
            parseLoggingEndpoint(value);
          } catch (error) {
            // The ConfigError's message without its path prefix: parseOptions adds the path.
            ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^monitoring\.loggingEndpoint: /, '') });
          }
        })
        .optional(),
      workflowName: z.string().min(1).optional(),
      workflowVersion: z.string().min(1).optional(),
      resourceMonitoringEnabled: z.boolean().optional(),
      resourceMonitoringInterval: durationSchema.optional(),
    })
    .strict(),
);

/**
 * Turns monitoring on (`new Config({ monitoring: new MonitoringHub({...}) })`): every task,
 * try, state change, block, node and resource sample of the run is recorded in an SQLite
 * database in Parsl's schema, which `parsl-ts monitor` shows live. Options are checked here:
 * a wrong one throws a `ConfigError` naming it (`monitoring.resourceMonitoringInterval: …`).
 *
 * @example
 * ```ts
 * load(new Config({ monitoring: new MonitoringHub({ loggingEndpoint: 'sqlite:///runinfo/monitoring.db', workflowName: 'sweep' }) }));
 * ```
 */
export class MonitoringHub {
  /** As given (undefined: `<runDir>/monitoring.db`); `parseLoggingEndpoint` gives the file. */
  readonly loggingEndpoint: string | undefined;
  /** As given; `undefined`: the script's file name. */
  readonly workflowName: string | undefined;
  /** As given; `undefined`: the run's start time. */
  readonly workflowVersion: string | undefined;
  /** Whether processes that run tasks are sampled. */
  readonly resourceMonitoringEnabled: boolean;
  /** Milliseconds. */
  readonly resourceMonitoringInterval: number;

  constructor(options: MonitoringHubOptions = {}) {
    const parsed = parseOptions(schema, options, 'monitoring');
    this.loggingEndpoint = parsed.loggingEndpoint;
    this.workflowName = parsed.workflowName;
    this.workflowVersion = parsed.workflowVersion;
    this.resourceMonitoringEnabled = parsed.resourceMonitoringEnabled ?? true;
    this.resourceMonitoringInterval = parsed.resourceMonitoringInterval ?? DEFAULT_RESOURCE_INTERVAL_MS;
  }
}

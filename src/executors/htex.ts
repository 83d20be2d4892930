import { lazySchema, z } from '../common/zod.ts';
import { periodSchema, parseOptions } from '../common/validate.ts';
import { natsConnectionShape, withCredentialRules } from '../nats/connection.ts';
import { stagingOptionsShape } from './staging-options.ts';
import { brandExecutor, type Executor } from './executor.ts';
import { LocalProvider } from '../providers/local.ts';
import { SSHChannel } from '../providers/channels/ssh.ts';
import { ConfigError } from '../common/errors.ts';
import { resolveSite, siteSchema, type ResolvedSite } from './htex-site.ts';
import type { ExecutionProvider } from '../providers/provider.ts';

const natsOptionsSchema = lazySchema(() =>
  withCredentialRules(
    z
      .object({
        ...natsConnectionShape,
        /** Servers the DFK and blocks use. @default an embedded nats-server started for the run */
        servers: natsConnectionShape.servers.optional(),
      })
      .strict(),
  ),
);

const htexSchema = lazySchema(() =>
  z
    .object({
      /** Name apps use in `executors: [...]`. @default 'htex' */
      label: z.string().min(1).default('htex'),
      /** Starts and stops blocks. @default new LocalProvider() */
      provider: z
        .custom<ExecutionProvider>((v) => typeof (v as ExecutionProvider | null)?.submit === 'function', {
          message: 'expected a provider such as new LocalProvider({...}) or new SlurmProvider({...})',
        })
        .optional(),
      /**
       * Workers per node at most: a block runs the smaller of this and its node's cores ÷
       * `coresPerWorker` (as Parsl does), so 4 here on a 2-core node is 2 workers unless
       * `coresPerWorker` is 0.5 or less. @default cores / coresPerWorker
       */
      maxWorkersPerNode: z.number().int().positive().optional(),
      /** Cores each worker needs. @default 1 */
      coresPerWorker: z.number().positive().default(1),
      /**
       * Tasks each worker thread runs at once: light async workers for apps that sleep or
       * wait on I/O. Above 1, a thread starts the next task as soon as the one before it
       * awaits, and each of its slots counts as a worker (registration, capacity, monitoring):
       * 100 blocks × 1 thread × 100 is 10,000 workers on one machine. A synchronous app holds
       * its thread. A thread that dies fails every try it held with `WorkerLost`.
       * @default 1
       */
      tasksPerWorker: z.number().int().positive().max(100_000).default(1),
      /** Task batches a block holds beyond one per worker. @default 0 */
      prefetchCapacity: z.number().int().min(0).default(0),
      /** How often DFK and blocks heartbeat. @default '30s' */
      heartbeatPeriod: periodSchema.default(30_000),
      /** Silence after which a block is lost, or the DFK is gone for a block. @default '120s' */
      heartbeatThreshold: periodSchema.default(120_000),
      /** How long a block may take to finish its tasks when drained before it is cancelled. @default '30s' */
      drainPeriod: periodSchema.default(30_000),
      /** At most this many tasks travel in one message. @default 256 */
      maxTasksPerMessage: z.number().int().positive().max(10_000).default(256),
      ...stagingOptionsShape,
      /** NATS servers and credentials. @default {}, an embedded nats-server started for the run */
      nats: natsOptionsSchema.default({}),
      /**
       * The command that starts a block manager on a node (Parsl's `launch_cmd`), without its
       * arguments. @default this Node.js and this installation of parsl-ts, by absolute paths —
       * right on this machine and on a shared file system; give 'parsl-ts block' where parsl-ts is
       * installed on the site.
       */
      launchCmd: z.string().min(1).optional(),
      /**
       * Run each block manager in a container. The image must have parsl-ts installed
       * (`parsl-ts` on its PATH) unless `launchCmd` says otherwise.
       * @default none: block managers run on the node itself
       */
      container: z
        .object({
          /** The container engine on the nodes. */
          runtime: z.enum(['apptainer', 'singularity', 'docker', 'podman']),
          /** The image: a registry reference, or a `.sif` file for Apptainer/Singularity. */
          image: z.string().min(1),
          /** Extra options of `run`/`exec`, e.g. ['--bind', '/scratch'] or ['--gpus', 'all']. */
          options: z.array(z.string()).default([]),
        })
        .strict()
        .optional(),
      /**
       * Make this executor a site behind a firewall: its blocks connect to the site's NATS leaf
       * node, its task queue lives in the site's JetStream domain (see `parsl-ts site`).
       * @default undefined (blocks connect to the DFK's hub directly)
       */
      site: siteSchema.optional(),
    })
    .strict()
    .refine((o) => o.site?.tunnel === undefined || o.site.hubListen !== undefined, {
      message: 'needs hubListen: the tunnel carries the leaf to the embedded hub\'s leaf-node listener',
      path: ['site', 'hubListen'],
    })
    .refine((o) => o.site === undefined || o.nats.servers !== undefined || o.site.hubListen !== undefined, {
      message: "needs hubListen ('HOST:PORT' where the site's leaf dials the embedded hub), or give nats.servers (your own hub)",
      path: ['site', 'hubListen'],
    })
    .refine((o) => o.heartbeatThreshold > o.heartbeatPeriod, {
      message: 'must be longer than heartbeatPeriod, or every block would be declared lost between two heartbeats',
      path: ['heartbeatThreshold'],
    })
    .refine((o) => o.nats.servers !== undefined || (o.nats.user ?? o.nats.token ?? o.nats.nkeySeed ?? o.nats.credsFile) === undefined, {
      message: 'credentials are for your own servers: give nats.servers too (the embedded server makes its own credential)',
      path: ['nats'],
    }),
);

/**
 * Options of `HighThroughputExecutor`, as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: HighThroughputExecutorOptions = {
 *   label: 'htex', provider: new LocalProvider({ maxBlocks: 2 }), heartbeatPeriod: '10s', heartbeatThreshold: '60s',
 * };
 * new HighThroughputExecutor(options);
 * ```
 */
export type HighThroughputExecutorOptions = z.input<typeof htexSchema>;
/**
 * Options of `HighThroughputExecutor` with defaults filled in.
 *
 * @example
 * ```ts
 * const htex = new HighThroughputExecutor();
 * const resolved: ResolvedHighThroughputExecutorOptions = htex.options;   // heartbeatPeriod in ms, provider made
 * ```
 */
export type ResolvedHighThroughputExecutorOptions = Omit<z.output<typeof htexSchema>, 'site'> & {
  provider: ExecutionProvider;
  /** The site, its credential read; undefined for an executor without one. */
  site: ResolvedSite | undefined;
};

/**
 * Runs tasks on blocks (pilot jobs) that a provider starts: each block runs a block manager
 * that connects to NATS, pulls task batches from a JetStream work queue and runs them on its
 * worker threads. Parsl's HighThroughputExecutor, with NATS in place of ZeroMQ: a block
 * anywhere only needs to reach a NATS server. With no `nats.servers`, an embedded
 * `nats-server` is started for the run with a generated credential.
 *
 * @example
 * ```ts
 * new HighThroughputExecutor({
 *   label: 'cluster',
 *   maxWorkersPerNode: 8,
 *   provider: new SlurmProvider({ partition: 'compute', maxBlocks: 4 }),
 * });
 * ```
 */
export class HighThroughputExecutor implements Executor {
  readonly kind = 'htex';
  /** The options, validated, with defaults filled in and durations in ms. */
  readonly options: ResolvedHighThroughputExecutorOptions;

  constructor(options: HighThroughputExecutorOptions = {}) {
    const parsed = parseOptions(htexSchema, options, 'HighThroughputExecutor');
    let site: ResolvedSite | undefined;
    try {
      site = parsed.site && resolveSite(parsed.site);
    } catch (error) {
      throw new ConfigError('HighThroughputExecutor.site.credentialFile', (error as Error).message, { cause: error });
    }
    const provider = parsed.provider ?? new LocalProvider();
    if (site?.tunnel && !(provider.options.channel instanceof SSHChannel)) {
      const given = (provider.options.channel as object | undefined)?.constructor.name ?? 'none';
      throw new ConfigError('HighThroughputExecutor.site.tunnel', `runs over the provider's channel, which must be an SSHChannel to the site's login node; got ${given}`);
    }
    this.options = { ...parsed, site, provider };
    brandExecutor(this);
  }

  get label(): string {
    return this.options.label;
  }

}

/**
 * Midway (Research Computing Center, University of Chicago): the two-executor config of the
 * Parsl talk's "Separation of code and execution" slide,
 *
 *   IPyParallelExecutor(label='midway', provider=SlurmProvider('westmere',
 *       channel=SSHChannel(hostname='swift.rcc.uchicago.edu', username='annawoodard'),
 *       max_blocks=1000, nodes_per_block=1, tasks_per_node=6,
 *       overrides='module load singularity; module load Anaconda3/5.1.0; source activate parsl_py36'))
 *   ThreadPoolExecutor(label='local', max_threads=2)
 *
 * in parsl-ts: a HighThroughputExecutor 'midway' whose blocks are Slurm jobs in the 'westmere'
 * partition, submitted through SSH to swift.rcc.uchicago.edu, and a ThreadPoolExecutor 'local'
 * of 2 threads on this machine. Apps choose with `app(fn, { executors: ['midway'] })` or
 * `{ executors: ['local'] }`.
 *
 * What it assumes:
 * - Environment (see ./site-env.ts for all of them):
 *     MIDWAY_NATS_SERVERS  required: a NATS server with JetStream that this machine AND the
 *                          Midway compute nodes reach, e.g. nats-server -js on a login node:
 *                          nats://midway2-login1.rcc.uchicago.edu:4222. Blocks find their tasks
 *                          there; without it the run cannot reach its blocks.
 *     MIDWAY_NATS_USER + MIDWAY_NATS_PASSWORD, or MIDWAY_NATS_TOKEN   that server's login.
 *     MIDWAY_USER          your RCC login (default: your local user name).
 *     MIDWAY_ACCOUNT       optional: the Slurm account charged (--account).
 *     MIDWAY_SSH_KEY       optional: private key file (default ~/.ssh/id_ed25519, id_ecdsa,
 *                          id_rsa, then ssh-agent).
 *     MIDWAY_CHANNEL=local when the script itself runs on a Midway login node.
 * - The login node's host key is in ~/.ssh/known_hosts (run `ssh swift.rcc.uchicago.edu` once):
 *   SSHChannel refuses unknown hosts.
 * - The modules in `workerInit` exist (names are examples: check `module avail` on Midway).
 * - The block command names node, tsx and parsl-ts by their absolute paths on the machine
 *   running the script (HighThroughputExecutor has no option to change that command yet), so
 *   those paths must exist on the compute nodes. In practice: clone and `npm install` parsl-ts
 *   under your home directory on Midway and run the script on a login node with
 *   MIDWAY_CHANNEL=local.
 *
 * Run a script with it:
 *   MIDWAY_NATS_SERVERS=nats://midway2-login1:4222 MIDWAY_NATS_USER=parsl MIDWAY_NATS_PASSWORD=… \
 *     parsl-ts run --config examples/sites/midway.ts my-script.ts
 * or, in a config module of your own: `export default () => midway({ partition: 'broadwl' })`.
 * Constructing the config contacts nothing (test/site-presets.test.ts does only that); the
 * SSH connection, the NATS connection and the first sbatch happen when the script calls load().
 */
import { Config, HighThroughputExecutor, SlurmProvider, SrunLauncher, ThreadPoolExecutor, type Channel } from '../../src/index.ts';
import { channelFromEnv, envValue, natsFromEnv, SRUN_ALL_CPUS, type NatsOptions, type SiteEnv } from './site-env.ts';

/** The seed's login host. */
export const MIDWAY_HOSTNAME = 'swift.rcc.uchicago.edu';

/** What a caller may change; every field has the seed's value, or one from MIDWAY_*, by default. */
export interface MidwayOptions {
  /** Where MIDWAY_* variables are read. @default process.env */
  env?: SiteEnv;
  /** Replaces the channel MIDWAY_CHANNEL selects (e.g. a `LocalChannel` with a scriptDir of your own). */
  channel?: Channel;
  /** Replaces the NATS options read from MIDWAY_NATS_*. */
  nats?: NatsOptions;
  /** Slurm partition. @default 'westmere' (the seed's; Midway2's main one is 'broadwl') */
  partition?: string;
  /** Slurm account. @default MIDWAY_ACCOUNT, else the user's default account */
  account?: string;
  /** Most blocks (Slurm jobs) at once. @default 1000, the seed's: lower it on a busy allocation */
  maxBlocks?: number;
  /** Nodes per block. @default 1 */
  nodesPerBlock?: number;
  /** Worker threads per node: the seed's tasks_per_node. @default 6 */
  maxWorkersPerNode?: number;
  /** Walltime of each block. @default '00:30:00' */
  walltime?: string;
  /** Shell lines run on the node before the block starts: the seed's `overrides`. */
  workerInit?: string | string[];
  /** Threads of the 'local' executor. @default 2 */
  localThreads?: number;
}

/** The seed's `overrides`, for node instead of Python. */
export const MIDWAY_WORKER_INIT = ['module load singularity', 'module load nodejs'];

/** The 'midway' HighThroughputExecutor alone, to combine with other sites' executors. */
export function midwayExecutor(options: MidwayOptions = {}): HighThroughputExecutor {
  const env = options.env ?? process.env;
  return new HighThroughputExecutor({
    label: 'midway',
    // One block manager per node (tasksPerNode 1); it runs this many worker threads.
    maxWorkersPerNode: options.maxWorkersPerNode ?? 6,
    nats: options.nats ?? natsFromEnv(env, 'MIDWAY'),
    provider: new SlurmProvider({
      label: 'midway-slurm',
      partition: options.partition ?? 'westmere',
      account: options.account ?? envValue(env, 'MIDWAY_ACCOUNT'),
      channel: options.channel ?? channelFromEnv(env, 'MIDWAY', { hostname: MIDWAY_HOSTNAME }),
      maxBlocks: options.maxBlocks ?? 1000,
      nodesPerBlock: options.nodesPerBlock ?? 1,
      walltime: options.walltime ?? '00:30:00',
      launcher: new SrunLauncher({ overrides: SRUN_ALL_CPUS }),
      workerInit: options.workerInit ?? MIDWAY_WORKER_INIT,
    }),
  });
}

/** The seed's config: 'midway' (Slurm through SSH) and 'local' (2 threads here). */
export default function midway(options: MidwayOptions = {}): Config {
  return new Config({
    executors: [midwayExecutor(options), new ThreadPoolExecutor({ label: 'local', maxThreads: options.localThreads ?? 2 })],
  });
}

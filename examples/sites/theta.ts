/**
 * Theta (Argonne Leadership Computing Facility, a Cray XC40 with Cobalt; retired at the end of
 * 2023): the 'theta' executor of the Parsl talk's "Multi-site execution" slide,
 *
 *   HighThroughputExecutor(label='theta', max_workers=4,
 *       address='try.parsl-project.org', interchange_address='thetalogin6',
 *       provider=CobaltProvider(
 *           channel=SSHInteractiveLoginChannel(hostname="thetalogin6.alcf.anl.gov", username="yadunand",
 *                                              script_dir="/home/yadunand/parsl_scripts"),
 *           queue="debug-flat-quad", init_blocks=1, min_blocks=1,
 *           worker_init='source /home/yadunand/setup_parsl_0.7.2.sh',
 *           account='CSC249ADCD01', cmd_timeout=120),
 *       working_dir='/home/yadunand', storage_access=[GlobusScheme(...)])
 *
 * in parsl-ts: blocks are Cobalt jobs (`qsub -n <nodes> -t <minutes> -q <queue> -A <project>`)
 * whose batch script starts one block manager per node with `aprun`, submitted through an SSH
 * login that answers ALCF's one-time-password prompt on the terminal. The NATS server plays
 * the part of the seed's `address`/`interchange_address`. Keep it as a template for a Cobalt
 * or Cray (aprun) machine: the shape is what matters.
 *
 * Not carried over (parsl-ts has no such options): `working_dir`, and `storage_access` with a
 * GlobusScheme (no Globus staging yet).
 *
 * What it assumes:
 * - Environment (see ./site-env.ts for all of them):
 *     THETA_NATS_SERVERS   required: a NATS server with JetStream that this machine AND Theta's
 *                          compute nodes reach (nats-server -js on a login node, e.g.
 *                          nats://thetalogin6:4222). Compute nodes on a Cray reach login nodes,
 *                          rarely the internet.
 *     THETA_NATS_USER + THETA_NATS_PASSWORD, or THETA_NATS_TOKEN   that server's login.
 *     THETA_PROJECT        required: the ALCF project charged (qsub -A), e.g. CSC249ADCD01.
 *     THETA_USER           your ALCF login (default: your local user name).
 *     THETA_HOST           a login node (default theta.alcf.anl.gov; the seed pinned thetalogin6).
 *     THETA_QUEUE          optional: the queue (default 'debug-flat-quad').
 *     THETA_CHANNEL=local  when the script itself runs on a Theta login node.
 * - ALCF logins ask for a one-time password: SSHInteractiveLoginChannel asks for it on the
 *   terminal (run in a terminal), or pass a `channel` with an `onPrompt` callback.
 * - The login node's host key is in ~/.ssh/known_hosts (run `ssh theta.alcf.anl.gov` once).
 * - `workerInit` sources ~/parsl-ts-env.sh, a script of yours on Theta that sets up the nodes'
 *   environment (modules, PATH), as the seed's setup_parsl_0.7.2.sh did.
 * - The block command names node, tsx and parsl-ts by their absolute paths on the machine
 *   running the script (HighThroughputExecutor has no option to change that command yet), so
 *   those paths must exist on the compute nodes: install parsl-ts under your home directory on
 *   Theta and run the script on a login node with THETA_CHANNEL=local.
 *
 * Run a script with it:
 *   THETA_NATS_SERVERS=nats://thetalogin6:4222 THETA_NATS_TOKEN=… THETA_PROJECT=CSC249ADCD01 \
 *     parsl-ts run --config examples/sites/theta.ts my-script.ts
 * Constructing the config contacts nothing; the SSH login, the NATS connection and the first
 * qsub happen when the script calls load().
 */
import { AprunLauncher, CobaltProvider, Config, HighThroughputExecutor, type Channel } from '../../src/index.ts';
import { channelFromEnv, envValue, natsFromEnv, requireEnv, type NatsOptions, type SiteEnv } from './site-env.ts';

/** A Theta login name that round-robins over the login nodes. */
export const THETA_HOSTNAME = 'theta.alcf.anl.gov';

/** What a caller may change; every field has the seed's value, or one from THETA_*, by default. */
export interface ThetaOptions {
  /** Where THETA_* variables are read. @default process.env */
  env?: SiteEnv;
  /** Replaces the channel THETA_CHANNEL selects (e.g. one with an `onPrompt` callback). */
  channel?: Channel;
  /** Replaces the NATS options read from THETA_NATS_*. */
  nats?: NatsOptions;
  /** Cobalt queue. @default THETA_QUEUE, else 'debug-flat-quad' (the seed's) */
  queue?: string;
  /** Project charged (`qsub -A`). @default THETA_PROJECT, which is then required */
  account?: string;
  /** Nodes per block: aprun starts one block manager on each. @default 2 */
  nodesPerBlock?: number;
  /** Blocks at start, at least, at most. @default 1, 1, 1 (the seed's init_blocks and min_blocks) */
  initBlocks?: number;
  minBlocks?: number;
  maxBlocks?: number;
  /** Worker threads per node: the seed's max_workers. @default 4 */
  maxWorkersPerNode?: number;
  /** Walltime of each block (Cobalt counts whole minutes). @default '00:30:00' */
  walltime?: string;
  /** Shell lines run in the batch script before aprun. @default 'source ~/parsl-ts-env.sh' */
  workerInit?: string | string[];
  /** Extra aprun arguments. @default '-d 64' (one KNL node's 64 cores to each block manager) */
  aprunOverrides?: string;
}

/** The 'theta' HighThroughputExecutor, to use alone (the default export) or beside other sites. */
export function thetaExecutor(options: ThetaOptions = {}): HighThroughputExecutor {
  const env = options.env ?? process.env;
  return new HighThroughputExecutor({
    label: 'theta',
    maxWorkersPerNode: options.maxWorkersPerNode ?? 4,
    nats: options.nats ?? natsFromEnv(env, 'THETA'),
    provider: new CobaltProvider({
      label: 'theta-cobalt',
      channel: options.channel ?? channelFromEnv(env, 'THETA', { hostname: THETA_HOSTNAME, interactive: true }),
      queue: options.queue ?? envValue(env, 'THETA_QUEUE') ?? 'debug-flat-quad',
      account: options.account ?? requireEnv(env, 'THETA_PROJECT', 'the ALCF project charged for the blocks (qsub -A), e.g. CSC249ADCD01'),
      nodesPerBlock: options.nodesPerBlock ?? 2,
      initBlocks: options.initBlocks ?? 1,
      minBlocks: options.minBlocks ?? 1,
      maxBlocks: options.maxBlocks ?? 1,
      walltime: options.walltime ?? '00:30:00',
      // The seed's cmd_timeout=120: qsub and qstat on a busy login node can be slow.
      cmdTimeout: '120s',
      launcher: new AprunLauncher({ overrides: options.aprunOverrides ?? '-d 64' }),
      workerInit: options.workerInit ?? 'source ~/parsl-ts-env.sh',
    }),
  });
}

/** Theta alone. */
export default function theta(options: ThetaOptions = {}): Config {
  return new Config({ executors: [thetaExecutor(options)] });
}

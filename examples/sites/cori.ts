/**
 * Cori (NERSC, a Cray XC40 with Slurm; retired in 2023): the 'cori' executor of the Parsl
 * talk's "Multi-site execution" slide,
 *
 *   HighThroughputExecutor(label="cori", address='try.parsl-project.org',
 *       interchange_address='cori03-224.nersc.gov',
 *       provider=SlurmProvider(partition='debug',
 *           channel=SSHInteractiveLoginChannel(hostname='cori03-224.nersc.gov', username='yadunand',
 *                                              script_dir='/global/homes/y/yadunand/parsl_scripts'),
 *           init_blocks=1, min_blocks=1,
 *           scheduler_options="#SBATCH --constraint=kn1,quad,cache",   # haswell: --constraint=haswell
 *           worker_init='source ~/setup_parsl_0.7.2.sh'),
 *       working_dir='/global/homes/y/yadunand', storage_access=[GlobusScheme(...)])
 *
 * in parsl-ts: blocks are Slurm jobs in the 'debug' partition on KNL nodes (`constraint`, an
 * option of SlurmProvider here, in place of the seed's raw #SBATCH line, whose "kn1" was a typo
 * for "knl"), started with `srun`, submitted through an SSH login that answers NERSC's
 * password+OTP prompt on the terminal. The NATS server plays the part of the seed's
 * `address`/`interchange_address`. Keep it as a template for a Slurm machine with node
 * features and QOS (Perlmutter: constraint 'cpu' or 'gpu', qos 'debug').
 *
 * Not carried over (parsl-ts has no such options): `working_dir`, and `storage_access` with a
 * GlobusScheme (no Globus staging yet).
 *
 * What it assumes:
 * - Environment (see ./site-env.ts for all of them):
 *     CORI_NATS_SERVERS    required: a NATS server with JetStream that this machine AND Cori's
 *                          compute nodes reach (nats-server -js on a login node, e.g.
 *                          nats://cori03:4222).
 *     CORI_NATS_USER + CORI_NATS_PASSWORD, or CORI_NATS_TOKEN   that server's login.
 *     CORI_USER            your NERSC login (default: your local user name).
 *     CORI_ACCOUNT         optional: the NERSC project charged (--account); default your default repo.
 *     CORI_QOS             optional: the QOS (--qos), e.g. 'debug' or 'regular'.
 *     CORI_CONSTRAINT      optional: node features (default 'knl,quad,cache'; 'haswell' for Haswell).
 *     CORI_HOST            a login node (default cori.nersc.gov; the seed pinned cori03-224).
 *     CORI_SSH_KEY         optional: e.g. ~/.ssh/nersc, the key NERSC's sshproxy issues for a
 *                          day; without a key the login asks for password+OTP on the terminal.
 *     CORI_CHANNEL=local   when the script itself runs on a Cori login node.
 * - The login node's host key is in ~/.ssh/known_hosts (run `ssh cori.nersc.gov` once).
 * - `workerInit` sources ~/parsl-ts-env.sh, a script of yours at NERSC that sets up the nodes'
 *   environment (modules, PATH), as the seed's setup_parsl_0.7.2.sh did.
 * - The block command names node, tsx and parsl-ts by their absolute paths on the machine
 *   running the script (HighThroughputExecutor has no option to change that command yet), so
 *   those paths must exist on the compute nodes: install parsl-ts under $HOME at NERSC and run
 *   the script on a login node with CORI_CHANNEL=local.
 *
 * Run a script with it:
 *   CORI_NATS_SERVERS=nats://cori03:4222 CORI_NATS_TOKEN=… CORI_SSH_KEY=~/.ssh/nersc \
 *     parsl-ts run --config examples/sites/cori.ts my-script.ts
 * Constructing the config contacts nothing; the SSH login, the NATS connection and the first
 * sbatch happen when the script calls load().
 */
import { Config, HighThroughputExecutor, SlurmProvider, SrunLauncher, type Channel } from '../../src/index.ts';
import { channelFromEnv, envValue, natsFromEnv, SRUN_ALL_CPUS, type NatsOptions, type SiteEnv } from './site-env.ts';

/** Cori's login name, round-robin over its login nodes. */
export const CORI_HOSTNAME = 'cori.nersc.gov';

/** What a caller may change; every field has the seed's value, or one from CORI_*, by default. */
export interface CoriOptions {
  /** Where CORI_* variables are read. @default process.env */
  env?: SiteEnv;
  /** Replaces the channel CORI_CHANNEL selects (e.g. one with an `onPrompt` callback). */
  channel?: Channel;
  /** Replaces the NATS options read from CORI_NATS_*. */
  nats?: NatsOptions;
  /** Slurm partition. @default 'debug' (the seed's) */
  partition?: string;
  /** `--constraint`. @default CORI_CONSTRAINT, else 'knl,quad,cache' */
  constraint?: string;
  /** `--qos`. @default CORI_QOS, else none */
  qos?: string;
  /** `--account`. @default CORI_ACCOUNT, else none (the default repo) */
  account?: string;
  /** Nodes per block. @default 1 */
  nodesPerBlock?: number;
  /** Blocks at start, at least, at most. @default 1, 1, 1 (the seed's init_blocks and min_blocks) */
  initBlocks?: number;
  minBlocks?: number;
  maxBlocks?: number;
  /** Worker threads per node. @default 68 (a KNL node's cores; 32 on Haswell) */
  maxWorkersPerNode?: number;
  /** Walltime of each block. @default '00:30:00' (the debug QOS's limit) */
  walltime?: string;
  /** Shell lines run in the batch script before srun. @default 'source ~/parsl-ts-env.sh' */
  workerInit?: string | string[];
}

/** The 'cori' HighThroughputExecutor, to use alone (the default export) or beside other sites. */
export function coriExecutor(options: CoriOptions = {}): HighThroughputExecutor {
  const env = options.env ?? process.env;
  return new HighThroughputExecutor({
    label: 'cori',
    maxWorkersPerNode: options.maxWorkersPerNode ?? 68,
    nats: options.nats ?? natsFromEnv(env, 'CORI'),
    provider: new SlurmProvider({
      label: 'cori-slurm',
      channel: options.channel ?? channelFromEnv(env, 'CORI', { hostname: CORI_HOSTNAME, interactive: true }),
      partition: options.partition ?? 'debug',
      constraint: options.constraint ?? envValue(env, 'CORI_CONSTRAINT') ?? 'knl,quad,cache',
      qos: options.qos ?? envValue(env, 'CORI_QOS'),
      account: options.account ?? envValue(env, 'CORI_ACCOUNT'),
      nodesPerBlock: options.nodesPerBlock ?? 1,
      initBlocks: options.initBlocks ?? 1,
      minBlocks: options.minBlocks ?? 1,
      maxBlocks: options.maxBlocks ?? 1,
      walltime: options.walltime ?? '00:30:00',
      launcher: new SrunLauncher({ overrides: SRUN_ALL_CPUS }),
      workerInit: options.workerInit ?? 'source ~/parsl-ts-env.sh',
    }),
  });
}

/** Cori alone. */
export default function cori(options: CoriOptions = {}): Config {
  return new Config({ executors: [coriExecutor(options)] });
}

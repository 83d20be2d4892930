/**
 * Helpers the site presets share: reading a site's settings from environment variables with a
 * site prefix (`MIDWAY_USER`, `THETA_NATS_SERVERS`…), and building the channel and the NATS
 * options from them. Nothing here connects anywhere: it only builds option objects, and the
 * constructors they go to validate them.
 *
 * Variables read for a site whose prefix is `SITE` (see each preset for which it uses):
 *
 *   SITE_NATS_SERVERS    required. NATS server URL(s), comma-separated, e.g.
 *                        nats://login1.site.edu:4222. JetStream must be on (nats-server -js).
 *                        Both the machine running the script and the site's compute nodes
 *                        connect to it: the embedded server parsl-ts starts when no servers
 *                        are given listens on 127.0.0.1 only, which compute nodes cannot reach.
 *   SITE_NATS_USER, SITE_NATS_PASSWORD    user/password login to that server, or
 *   SITE_NATS_TOKEN      token login, or
 *   SITE_NATS_CREDS      a JWT .creds file: the path must exist on the compute nodes too.
 *   SITE_USER            login name on the site. Default: your local user name.
 *   SITE_HOST            login node to SSH to. Default: the preset's host name.
 *   SITE_SSH_KEY         private key file. Default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa, then ssh-agent.
 *   SITE_SCRIPT_DIR      where submit scripts go on the site; must be on a filesystem the
 *                        compute nodes see. Default: ~/.parsl-ts/scripts on the site.
 *   SITE_CHANNEL         'ssh' (default: submit from elsewhere over SSH) or 'local' (the
 *                        script runs on the site's login node and submits there).
 *
 * The NATS credentials reach the blocks through their submit scripts (an exported variable),
 * which are written readable by their owner only.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  LocalChannel,
  SSHChannel,
  SSHInteractiveLoginChannel,
  type Channel,
  type HighThroughputExecutorOptions,
} from '../../src/index.ts';

/** Environment variables as `process.env` holds them. */
export type SiteEnv = Readonly<Record<string, string | undefined>>;

/** The `nats` option of `HighThroughputExecutor`. */
export type NatsOptions = NonNullable<HighThroughputExecutorOptions['nats']>;

/** `env[name]` without surrounding blanks; `undefined` when unset or blank. */
export function envValue(env: SiteEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** `env[name]`, or a `ConfigError` naming the variable and saying what it is for. */
export function requireEnv(env: SiteEnv, name: string, what: string): string {
  const value = envValue(env, name);
  if (value === undefined) throw new ConfigError(name, `is not set; set it to ${what}`);
  return value;
}

/**
 * `SrunLauncher` overrides for HighThroughputExecutor blocks: the one block manager srun starts
 * on each node gets all of the node's CPUs (the batch script's shell expands the variable when
 * the job runs, so it fits any partition). Without it srun gives each task one CPU, and the
 * block manager, which sizes its pool from the CPUs it may use, would start a single worker.
 */
export const SRUN_ALL_CPUS = '--cpus-per-task=$SLURM_CPUS_ON_NODE';

/** A copy of `object` without its `undefined` fields (so that defaults apply). */
export function defined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

/**
 * NATS options from `<prefix>_NATS_SERVERS` and `<prefix>_NATS_USER`/`_PASSWORD`, `_TOKEN` or
 * `_CREDS`. Throws `ConfigError` when no servers are given; `HighThroughputExecutor` rejects
 * contradictory credentials (a user without a password, a token and a user…).
 */
export function natsFromEnv(env: SiteEnv, prefix: string): NatsOptions {
  const name = `${prefix}_NATS_SERVERS`;
  const servers = requireEnv(
    env,
    name,
    'the URL of a NATS server with JetStream that both this machine and the compute nodes can reach, e.g. nats://login1:4222 (comma-separated for a cluster)',
  )
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  if (servers.length === 0) throw new ConfigError(name, 'holds no server URL');
  return defined({
    servers: servers.length === 1 ? servers[0]! : servers,
    user: envValue(env, `${prefix}_NATS_USER`),
    password: envValue(env, `${prefix}_NATS_PASSWORD`),
    token: envValue(env, `${prefix}_NATS_TOKEN`),
    credsFile: envValue(env, `${prefix}_NATS_CREDS`),
  });
}

export interface ChannelDefaults {
  /** Login node used when `<prefix>_HOST` is not set. */
  hostname: string;
  /**
   * `SSHInteractiveLoginChannel` (answers password and one-time-code prompts on the terminal)
   * instead of `SSHChannel` (keys and agent only).
   */
  interactive?: boolean;
}

/**
 * The channel a preset's provider runs scheduler commands through: SSH to the login node
 * (the default), or this machine when `<prefix>_CHANNEL=local`.
 */
export function channelFromEnv(env: SiteEnv, prefix: string, defaults: ChannelDefaults): Channel {
  const kindName = `${prefix}_CHANNEL`;
  const kind = envValue(env, kindName) ?? 'ssh';
  const scriptDir = envValue(env, `${prefix}_SCRIPT_DIR`);
  if (kind === 'local') {
    // On the login node: scripts under the home directory, which compute nodes share
    // (the LocalChannel default, the temporary directory, is often node-local).
    return new LocalChannel({ scriptDir: scriptDir ?? join(homedir(), '.parsl-ts', 'scripts') });
  }
  if (kind !== 'ssh') throw new ConfigError(kindName, `must be 'ssh' or 'local'; got '${kind}'`);
  const options = defined({
    hostname: envValue(env, `${prefix}_HOST`) ?? defaults.hostname,
    username: envValue(env, `${prefix}_USER`),
    privateKeyPath: envValue(env, `${prefix}_SSH_KEY`),
    scriptDir,
  });
  return defaults.interactive ? new SSHInteractiveLoginChannel(options) : new SSHChannel(options);
}

/**
 * Options of the SSH channels: the shape both share, their defaults, and their resolution
 * (validation, then the defaults that depend on the machine: user name, home, agent socket).
 */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { lazySchema, z } from '../../common/zod.ts';
import { ConfigError } from '../../common/errors.ts';
import { parseOptions } from '../../common/validate.ts';

/** @default 22 */
export const DEFAULT_SSH_PORT = 22;
/** Relative to the remote login directory, where both commands and SFTP start. @default '.parsl-ts/scripts' */
export const DEFAULT_SSH_SCRIPT_DIR = '.parsl-ts/scripts';
/** @default 20_000 */
export const DEFAULT_SSH_CONNECT_TIMEOUT_MS = 20_000;
/** @default 15_000 */
export const DEFAULT_SSH_KEEPALIVE_INTERVAL_MS = 15_000;
/** OpenSSH's own `MaxSessions` default. @default 10 */
export const DEFAULT_SSH_MAX_SESSIONS = 10;

/** Expands a leading `~` of a local path. */
function expandHome(path: string): string {
  if (path === '~') return homedir();
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/** The options both SSH channels share; `SSHInteractiveLoginChannel` adds its own. */
export const sshChannelShape = lazySchema(() =>
  ({
    /** Host to connect to. */
    hostname: z.string().min(1),
    /** @default 22 */
    port: z.number().int().min(1).max(65535).default(DEFAULT_SSH_PORT),
    /** Login name on the far side. @default the local user's name */
    username: z.string().min(1).optional(),
    /** A private key (OpenSSH or PEM text). Exclusive with `privateKeyPath`. */
    privateKey: z.union([z.string().min(1), z.instanceof(Buffer)]).optional(),
    /** Path of a private key file (`~` is expanded). @default ~/.ssh/id_ed25519, id_ecdsa, id_rsa (those that exist) when no key, password or agent is given */
    privateKeyPath: z.string().min(1).transform(expandHome).optional(),
    /** Passphrase of an encrypted private key. */
    passphrase: z.string().optional(),
    /** Password for `password` authentication (and a single hidden keyboard-interactive prompt). */
    password: z.string().optional(),
    /** ssh-agent socket path, `true` for `$SSH_AUTH_SOCK`, `false` for none. @default $SSH_AUTH_SOCK when set */
    agent: z.union([z.string().min(1), z.boolean()]).optional(),
    /** Remote directory for submit scripts; relative paths are under the remote login directory. @default '.parsl-ts/scripts' */
    scriptDir: z.string().min(1).default(DEFAULT_SSH_SCRIPT_DIR),
    /** OpenSSH known_hosts file used to check the server's host key (`~` is expanded). @default ~/.ssh/known_hosts */
    knownHostsPath: z.string().min(1).transform(expandHome).optional(),
    /**
     * `'strict'`: refuse a host whose key is not in known_hosts. `'accept-new'`: trust a new host's key on
     * first use and append it to known_hosts. Both refuse a host whose key changed. @default 'strict'
     */
    hostKeyPolicy: z.enum(['strict', 'accept-new']).default('strict'),
    /** Time to connect and log in, prompts answered by a person excluded. @default 20_000 */
    connectTimeoutMs: z.number().int().positive().default(DEFAULT_SSH_CONNECT_TIMEOUT_MS),
    /** SSH keepalive period, so a silently dead connection is noticed; 0 turns it off. @default 15_000 */
    keepaliveIntervalMs: z.number().int().nonnegative().default(DEFAULT_SSH_KEEPALIVE_INTERVAL_MS),
    /** Sessions (commands, SFTP) open at once on the connection; more wait their turn. Lowered by itself if the server allows fewer. @default 10 */
    maxSessions: z.number().int().positive().max(1000).default(DEFAULT_SSH_MAX_SESSIONS),
  }),
);

/** Shared refinements of the SSH channel schemas. */
export function refineSSHOptions(options: { privateKey?: unknown; privateKeyPath?: unknown }, ctx: z.RefinementCtx): void {
  if (options.privateKey !== undefined && options.privateKeyPath !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['privateKeyPath'], message: "'privateKey' and 'privateKeyPath' are mutually exclusive" });
  }
}

const sshChannelSchema = lazySchema(() => z.object(sshChannelShape).strict().superRefine(refineSSHOptions));

/**
 * Options of `SSHChannel`, as the user gives them.
 * @interface
 */
export type SSHChannelOptions = z.input<typeof sshChannelSchema>;

/** Options of an SSH channel with every default filled in. */
export interface ResolvedSSHChannelOptions {
  hostname: string;
  port: number;
  username: string;
  privateKey: string | Buffer | undefined;
  privateKeyPath: string | undefined;
  passphrase: string | undefined;
  password: string | undefined;
  /** Resolved agent socket path, or undefined for none. */
  agent: string | undefined;
  scriptDir: string;
  knownHostsPath: string;
  hostKeyPolicy: 'strict' | 'accept-new';
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  maxSessions: number;
}

/** Validates SSH channel options and fills defaults; throws `ConfigError` naming the option. */
export function resolveSSHChannelOptions(options: SSHChannelOptions, root = 'SSHChannel'): ResolvedSSHChannelOptions {
  return fillSSHDefaults(parseOptions(sshChannelSchema, options, root), root);
}

/** The local user's name, as ssh takes it by default (a uid without a passwd entry has none). */
function localUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'root';
  }
}

/** Fills the defaults that depend on the machine (user name, home, agent socket). */
export function fillSSHDefaults(parsed: z.output<typeof sshChannelSchema>, root: string): ResolvedSSHChannelOptions {
  let agent: string | undefined;
  if (typeof parsed.agent === 'string') agent = parsed.agent;
  else if (parsed.agent === true) {
    agent = process.env.SSH_AUTH_SOCK;
    if (!agent) throw new ConfigError(`${root}.agent`, 'is true but SSH_AUTH_SOCK is not set; give the agent socket path instead');
  } else if (parsed.agent === undefined) agent = process.env.SSH_AUTH_SOCK || undefined;
  return {
    hostname: parsed.hostname,
    port: parsed.port,
    username: parsed.username ?? localUsername(),
    privateKey: parsed.privateKey,
    privateKeyPath: parsed.privateKeyPath,
    passphrase: parsed.passphrase,
    password: parsed.password,
    agent,
    scriptDir: parsed.scriptDir,
    knownHostsPath: parsed.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts'),
    hostKeyPolicy: parsed.hostKeyPolicy,
    connectTimeoutMs: parsed.connectTimeoutMs,
    keepaliveIntervalMs: parsed.keepaliveIntervalMs,
    maxSessions: parsed.maxSessions,
  };
}

/**
 * Sites joined to a hub as NATS leaf nodes. A site runs a leaf node (a nats-server with
 * JetStream in a domain of its own) that dials OUT to the hub's leaf-node listener: no site
 * needs an inbound port. The site's blocks talk only to their leaf; the site's task queue lives
 * in the site's JetStream domain, so a cut between hub and site loses nothing.
 *
 * Each site logs in to the hub with a credential of its own that binds it to the site's own
 * account (its room): a site cannot see, read or take another site's tasks, results or
 * JetStream API, and a leaf without a valid credential is refused.
 *
 * ```ts
 * const a = siteCredential('siteA');
 * const { accounts, leafUsers } = hubSiteOptions([a]);
 * const hub = await NatsServer.start({ domain: 'hub', auth, accounts, leafnodes: { host, port, users: leafUsers } });
 * const leaf = await startLeafNode({ credential: a, hubLeafUrl: `nats://${host}:${port}` });
 * // the DFK talks to site a with connect({ servers: hub.url, user: a.dfk.user, pass: a.dfk.password })
 * ```
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../common/errors.ts';
import { NatsServer, type LeafUser, type NatsServerOptions, type NatsUser } from './server.ts';

/** What a site may be called: it names its JetStream domain, subjects and streams. */
const SITE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/** The names a site owns. */
export interface SiteNames {
  /** The site's JetStream domain (= the site's name). */
  domain: string;
  /** The site's account at the hub: its room, shared by its leaf and the DFK's connection to it. */
  account: string;
  /** Every core subject of the site starts with this: `parsl.SITE`. */
  subjectPrefix: string;
  /** The site's streams, in its domain: the task queue (work queue) and the results. */
  streams: { tasks: string; results: string };
}

export function siteNames(site: string): SiteNames {
  if (!SITE_NAME.test(site)) {
    throw new ConfigError('site', `must be a letter then up to 31 letters, digits, '_' or '-'; got ${JSON.stringify(site)}`);
  }
  return {
    domain: site,
    account: `SITE_${site}`,
    subjectPrefix: `parsl.${site}`,
    streams: { tasks: `PARSL_${site}_TASKS`, results: `PARSL_${site}_RESULTS` },
  };
}

/**
 * A login: user and password.
 *
 * @example
 * ```ts
 * const login: Login = siteCredential('theta').leaf;   // { user: 'leaf-theta', password: '…' }
 * ```
 */
export interface Login {
  /** The NATS user name. */
  user: string;
  /** Its password. */
  password: string;
}

/**
 * A site's credentials at the hub: the leaf's login, and the DFK's login to the same account. A
 * site's leaf is bound to the site's own account: it sees the subjects, inboxes and JetStream API
 * of its own site only, never another site's tasks, results or files.
 *
 * @example
 * ```ts
 * const credential: SiteCredential = JSON.parse(readFileSync('theta.json', 'utf8'));
 * new HighThroughputExecutor({ label: 'theta', site: { name: 'theta', credential, leafUrl: 'nats://thetalogin1:4222', hubListen: '0.0.0.0:7422' } });
 * ```
 */
export interface SiteCredential {
  /** The site's name. */
  site: string;
  /** What the site's leaf presents to the hub. */
  leaf: Login;
  /** What the DFK presents to the hub to talk to this site (the same account). */
  dfk: Login;
  /**
   * What the site's blocks present to the leaf's client port: whoever can publish tasks there
   * can run code on the workers. Absent in credentials made before it existed (the leaf then
   * admits any client that reaches it).
   */
  blocks?: Login;
}

function secret(): string {
  return randomBytes(16).toString('hex');
}

/**
 * New credentials for `site` (random 32-hex-digit passwords): what `parsl-ts site` writes, for a
 * site whose leaf the executor starts itself (`site.startLeaf`). Keep the file owner-only.
 *
 * @example
 * ```ts
 * writeFileSync('theta.json', JSON.stringify(siteCredential('theta')), { mode: 0o600 });
 * ```
 */
export function siteCredential(site: string): SiteCredential {
  siteNames(site);
  return {
    site,
    leaf: { user: `leaf-${site}`, password: secret() },
    dfk: { user: `dfk-${site}`, password: secret() },
    blocks: { user: `blocks-${site}`, password: secret() },
  };
}

/**
 * What the hub needs to admit these sites: an account per site (with the DFK's login to it), and
 * the leaf-node logins, each bound to its site's account. Pass as `accounts` and `leafnodes.users`
 * of `NatsServer.start` (which then needs `auth`).
 */
export function hubSiteOptions(credentials: SiteCredential[]): { accounts: Record<string, { users: NatsUser[] }>; leafUsers: LeafUser[] } {
  const accounts: Record<string, { users: NatsUser[] }> = {};
  const leafUsers: LeafUser[] = [];
  for (const credential of credentials) {
    const { account } = siteNames(credential.site);
    accounts[account] = { users: [credential.dfk] };
    leafUsers.push({ ...credential.leaf, account });
  }
  return { accounts, leafUsers };
}

export interface LeafNodeOptions {
  credential: SiteCredential;
  /** The hub's leaf-node listener as the site reaches it: `nats://HOST:PORT` (a tunnel's `nats://127.0.0.1:FIXED`). */
  hubLeafUrl: string;
  /** The leaf's client port, where the site's blocks connect; fixed, so a restarted leaf is found again. @default -1 (picked) */
  port?: number;
  /** Address the client port listens on: one the compute nodes reach. @default '127.0.0.1' */
  host?: string;
  /** Clients of the leaf (the site's blocks) log in with this. */
  auth?: { user: string; password: string };
  /**
   * How often the leaf pings the hub, and after how many unanswered pings it drops the link and
   * dials again: a dead link is noticed in about `pingIntervalS * pingMax` seconds. @default 2, 2
   */
  pingIntervalS?: number;
  pingMax?: number;
  /** Passed on to the server (store directory, network namespace, binary, start timeout). */
  server?: Pick<NatsServerOptions, 'dir' | 'netns' | 'binary' | 'startTimeoutMs'>;
}

/** The configuration lines (nats-server syntax) that make a server a leaf of the hub. */
export function leafNodeConfig(options: LeafNodeOptions): string {
  const url = new URL(options.hubLeafUrl);
  if (url.protocol !== 'nats:') throw new ConfigError('hubLeafUrl', `must be nats://HOST:PORT; got ${options.hubLeafUrl}`);
  url.username = encodeURIComponent(options.credential.leaf.user);
  url.password = encodeURIComponent(options.credential.leaf.password);
  return [
    `ping_interval: "${options.pingIntervalS ?? 2}s"`,
    `ping_max: ${options.pingMax ?? 2}`,
    // reconnect: seconds between dials while the hub is unreachable.
    `leafnodes { reconnect: 1, remotes: [ { url: ${JSON.stringify(url.toString())} } ] }`,
  ].join('\n');
}

/**
 * Starts a site's leaf node: JetStream on, in the site's domain, dialling out to the hub with the
 * site's credential. Resolves once its client port accepts connections (the link to the hub comes
 * up on its own, and again after every cut).
 */
export async function startLeafNode(options: LeafNodeOptions): Promise<NatsServer> {
  const names = siteNames(options.credential.site);
  return NatsServer.start({
    ...options.server,
    port: options.port ?? -1,
    host: options.host,
    jetstream: true,
    domain: names.domain,
    auth: options.auth,
    extraConfig: leafNodeConfig(options),
  });
}

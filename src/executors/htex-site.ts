/**
 * The `site` option of a HighThroughputExecutor: the executor is a site whose blocks talk only
 * to the site's NATS leaf node (which dials out to the hub the DFK uses), and whose task queue
 * lives in the site's own JetStream domain. See src/nats/leaf.ts and `parsl-ts site`.
 *
 * ```ts
 * new HighThroughputExecutor({
 *   label: 'theta',
 *   site: {
 *     name: 'theta',
 *     credentialFile: '~/.parsl-ts/site-theta/credential.json', // what `parsl-ts site` wrote
 *     leafUrl: 'nats://thetalogin1:4222',                     // where the blocks connect
 *     hubListen: '0.0.0.0:7422',                              // where the leaf dials in
 *   },
 *   provider: new SlurmProvider({ channel: new SSHChannel({ hostname: 'thetalogin1' }) }),
 * })
 * ```
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { lazySchema, z } from '../common/zod.ts';
import { periodSchema } from '../common/validate.ts';
import { natsConnectionShape } from '../nats/connection.ts';
import type { SiteCredential } from '../nats/leaf.ts';

/** How long a pinned task waits for its site's return. @default '10m' */
export const DEFAULT_SITE_LOST_TIMEOUT_MS = 600_000;

const login = lazySchema(() => z
  .object({
    /** The NATS user name. */
    user: z.string().min(1),
    /** Its password. */
    password: z.string().min(1),
  })
  .strict());

const credentialSchema = lazySchema(() => z
  .object({
    /** The site this credential belongs to (must equal the site's `name`). */
    site: z.string(),
    /** The login the site's leaf node presents to the hub. */
    leaf: login,
    /** The DFK's login to the site's account on the hub. */
    dfk: login,
    /** The blocks' login on the leaf's client port. @default none (older credentials) */
    blocks: login.optional(),
  })
  .strict());

const hostPort = lazySchema(() => z.string().regex(/^[^\s:]+:\d{1,5}$/, { message: "expected 'HOST:PORT', e.g. '0.0.0.0:7422'" }));

export const siteSchema = lazySchema(() => z
  .object({
    /** The site: its JetStream domain and its account at the hub. A letter, then letters, digits, '_' or '-'. */
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, {
      message: "expected a letter then up to 31 letters, digits, '_' or '-'",
    }),
    /** The site's credential, JSON as `parsl-ts site` writes it (read when the executor is made). */
    credentialFile: z.string().min(1).optional(),
    /** The site's credential itself (`siteCredential(name)`), instead of `credentialFile`. */
    credential: credentialSchema.optional(),
    /** Where the site's blocks connect: the leaf node's client port, as `parsl-ts site` printed it. */
    leafUrl: natsConnectionShape.servers,
    /**
     * The leaf-node listener of the executor's embedded hub, which the site's leaf dials
     * (`parsl-ts site --hub nats://THIS_HOST:PORT`); give the port the site was told.
     * Not used with `nats.servers` (your own hub admits the site).
     */
    hubListen: hostPort.optional(),
    /**
     * The hub's leaf-node address as the leaf must redial it: through an SSH reverse tunnel,
     * the tunnel's `127.0.0.1:PORT` on the site, so that a redial never goes around it.
     */
    hubAdvertise: hostPort.optional(),
    /**
     * A driver the site cannot reach (a laptop behind NAT): the executor opens an SSH reverse
     * tunnel over its provider's SSHChannel, from the login node's `127.0.0.1:remotePort` to
     * `hubListen`; start the site's leaf with `--hub nats://127.0.0.1:REMOTE_PORT`. No port
     * opens anywhere but the site's own sshd. Implies `hubAdvertise: '127.0.0.1:REMOTE_PORT'`.
     */
    tunnel: z
      .object({
        /** The port on the login node's loopback that forwards to the hub's `hubListen`. */
        remotePort: z.number().int().min(1).max(65_535),
      })
      .strict()
      .optional(),
    /**
     * Start the site's leaf node for you: `parsl-ts site` on the login node, through the
     * provider's channel, in the background, stopped when the run ends. Its client port is
     * `leafUrl`'s. Without it, the site's administrator runs `parsl-ts site`.
     */
    startLeaf: z
      .object({
        /** The hub's leaf-node URL as the login node reaches it. @default with `tunnel`: 'nats://127.0.0.1:REMOTE_PORT' */
        hub: z.string().regex(/^nats:\/\/[^\s:/]+:\d{1,5}$/, { message: "expected 'nats://HOST:PORT'" }).optional(),
        /** Address of the leaf's client port, one the compute nodes reach. @default '0.0.0.0' */
        listen: z.string().min(1).default('0.0.0.0'),
        /** The leaf's store and log on the login node. @default '<channel's scriptDir>/site-NAME' */
        dir: z.string().min(1).optional(),
        /** What runs `parsl-ts site` there, e.g. 'parsl-ts site'. @default this Node.js and this parsl-ts, by absolute paths (a shared file system) */
        command: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /**
     * How long tasks pinned to this site wait for it once it is out of reach (no answer from its
     * leaf's JetStream, no block heartbeat) before they fail with `SiteLost`. Unpinned tasks
     * move to other executors sooner, after `heartbeatThreshold`. @default '10m'
     */
    siteLostTimeout: periodSchema.default(DEFAULT_SITE_LOST_TIMEOUT_MS),
  })
  .strict()
  .refine((s) => (s.credential === undefined) !== (s.credentialFile === undefined), {
    message: "give one of 'credential' and 'credentialFile' (the site's credential, as `parsl-ts site` wrote it)",
    path: ['credentialFile'],
  })
  .refine((s) => s.startLeaf === undefined || s.startLeaf.hub !== undefined || s.tunnel !== undefined, {
    message: "needs hub: the hub's leaf-node URL as the login node reaches it (or a tunnel, which provides it)",
    path: ['startLeaf', 'hub'],
  })
  .refine((s) => s.credential === undefined || s.credential.site === s.name, {
    message: 'is the credential of another site',
    path: ['credential', 'site'],
  }));

export type SiteOptions = z.input<typeof siteSchema>;

/** The site as the executor uses it: the credential read. */
export interface ResolvedSite {
  name: string;
  credential: SiteCredential;
  leafUrl: string | string[];
  hubListen: { host: string; port: number } | undefined;
  hubAdvertise: string | undefined;
  tunnel: { remotePort: number } | undefined;
  startLeaf: { hub?: string | undefined; listen: string; dir?: string | undefined; command?: string | undefined } | undefined;
  siteLostTimeoutMs: number;
}

/** Reads the credential file and checks it; throws an `Error` naming the file and what is wrong. */
export function resolveSite(site: z.output<typeof siteSchema>): ResolvedSite {
  let credential = site.credential;
  if (credential === undefined) {
    const file = site.credentialFile!.replace(/^~(?=\/)/, homedir());
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read ${file} (${(error as Error).message}); \`parsl-ts site --name ${site.name}\` writes it`);
    }
    const parsed = credentialSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`${file} is not a site credential (expected { site, leaf: { user, password }, dfk: { user, password } })`);
    if (parsed.data.site !== site.name) throw new Error(`${file} is the credential of site '${parsed.data.site}', not '${site.name}'`);
    credential = parsed.data;
  }
  let hubListen: ResolvedSite['hubListen'];
  if (site.hubListen !== undefined) {
    const at = site.hubListen.lastIndexOf(':');
    hubListen = { host: site.hubListen.slice(0, at), port: Number(site.hubListen.slice(at + 1)) };
  }
  // Through a tunnel, a leaf that redials must find the tunnel, not the hub's own address.
  const hubAdvertise = site.hubAdvertise ?? (site.tunnel && `127.0.0.1:${site.tunnel.remotePort}`);
  return { name: site.name, credential, leafUrl: site.leafUrl, hubListen, hubAdvertise, tunnel: site.tunnel, startLeaf: site.startLeaf, siteLostTimeoutMs: site.siteLostTimeout };
}

/**
 * The NATS side of an executor that is a site (`HighThroughputExecutor({ site })`): the
 * embedded hub admits the site's leaf node with the site's credential, into the site's own
 * account; the DFK talks to the site in that account; the run's streams are made in the site's
 * JetStream domain (on its leaf), so its task queue and results stay at the site through a cut;
 * the blocks are given the leaf's URL, never the hub's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsConnectionOptions } from '../../nats/connection.ts';
import { hubSiteOptions, siteNames } from '../../nats/leaf.ts';
import type { NatsServerOptions } from '../../nats/server.ts';
import type { ResolvedSite } from '../../executors/htex-site.ts';
import type { ExecutionProvider } from '../../providers/provider.ts';
import type { SSHChannel } from '../../providers/channels/ssh.ts';
import { ReverseTunnel } from '../../providers/channels/ssh-tunnel.ts';
import { startSiteLeaf } from './site-leaf.ts';

/** The embedded hub's JetStream domain: every JetStream server of a federation has one. */
export const HUB_DOMAIN = 'hub';

/** What the embedded server needs to be the site's hub: a domain, the site's account, a leaf-node listener. */
export function hubServerOptions(site: ResolvedSite): Pick<NatsServerOptions, 'domain' | 'accounts' | 'leafnodes'> {
  const { accounts, leafUsers } = hubSiteOptions([site.credential]);
  return {
    domain: HUB_DOMAIN,
    accounts,
    leafnodes: site.hubListen && { ...site.hubListen, users: leafUsers, advertise: site.hubAdvertise },
  };
}

/** The DFK's login to the embedded hub: into the site's account, where the leaf's subjects are. */
export function dfkSiteConnection(site: ResolvedSite, hubUrl: string): NatsConnectionOptions {
  return { servers: [hubUrl], user: site.credential.dfk.user, password: site.credential.dfk.password };
}

/** What the site's blocks are given: the leaf's client port (they never see the hub). */
export function blockSiteConnection(site: ResolvedSite): NatsConnectionOptions {
  const { blocks } = site.credential;
  return blocks ? { servers: site.leafUrl, user: blocks.user, password: blocks.password } : { servers: site.leafUrl };
}

/** How long one try to reach the site's JetStream waits. */
const SITE_API_TIMEOUT_MS = 5_000;

/**
 * The site's JetStream, once its leaf answers: the leaf may dial in after the run starts (it
 * redials every second), or be down for a while; asked again until it answers or `signal` ends.
 */
export async function siteJetStream(
  nc: NatsConnection,
  site: ResolvedSite,
  signal: AbortSignal | undefined,
  prepare: (jsm: JetStreamManager) => Promise<void>,
): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> {
  const { domain } = siteNames(site.name);
  for (let attempt = 1; ; attempt++) {
    try {
      const jsm = await jetstreamManager(nc, { domain, timeout: SITE_API_TIMEOUT_MS });
      await prepare(jsm);
      return { js: jetstream(nc, { domain, timeout: SITE_API_TIMEOUT_MS }), jsm };
    } catch (error) {
      if (signal?.aborted) throw error;
      // The leaf dials in within a second or two of the hub's start: say so only when it takes longer.
      if (attempt % 40 === 8) {
        process.emitWarning(`site '${site.name}': its leaf node's JetStream does not answer yet (${(error as Error).message}); waiting`, {
          code: 'PARSL_TS_SITE_WAITING',
        });
      }
      await sleep(250, undefined, { signal });
    }
  }
}

/** Does the site's leaf answer now? (Its JetStream account info, through the hub.) */
export async function siteAnswers(jsm: JetStreamManager): Promise<boolean> {
  try {
    await jsm.getAccountInfo();
    return true;
  } catch {
    return false;
  }
}

/**
 * What the executor opens at the site, once its hub is up: with `site.tunnel`, the reverse
 * tunnel from the login node (over the provider's SSHChannel, checked when the executor was
 * made) to the hub's leaf-node listener; with `site.startLeaf`, the leaf node itself. `close`
 * stops the leaf (it flushes its store), then the tunnel.
 */
export async function openSiteSide(site: ResolvedSite, provider: ExecutionProvider): Promise<{ close(): Promise<void> } | undefined> {
  let tunnel: ReverseTunnel | undefined;
  if (site.tunnel && site.hubListen) {
    const { host, port } = site.hubListen;
    const target = { host: host === '0.0.0.0' ? '127.0.0.1' : host, port };
    tunnel = await ReverseTunnel.open(provider.options.channel as SSHChannel, { remotePort: site.tunnel.remotePort, target });
  }
  let leaf: Awaited<ReturnType<typeof startSiteLeaf>>;
  try {
    leaf = await startSiteLeaf(site, provider);
  } catch (error) {
    await tunnel?.close();
    throw error;
  }
  if (!tunnel && !leaf) return undefined;
  return {
    async close() {
      await leaf?.stop().catch(() => {});
      await tunnel?.close();
    },
  };
}

/**
 * A hub and sites for the federation tests: a hub nats-server in the root namespace with a
 * leaf-node listener on the bridge, and per site a leaf node inside the site's namespace that
 * dials out with the site's own credential, plus an agent (a NATS client) inside the site.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsServer } from '../../src/nats/server.ts';
import { hubSiteOptions, siteCredential, startLeafNode, type SiteCredential } from '../../src/nats/leaf.ts';
import { waitFor } from '../helpers.ts';
import { SiteNetwork, type Site } from './netns.ts';
import { SiteAgent } from './site-agent.ts';
import { freePort } from './sshd.ts';

export const DFK_USER = { user: 'dfk', password: 'dfk-secret' };

/**
 * The network, or a reason to skip. Under CI (`.ci/run` sets PARSL_TS_REQUIRE_NETNS=1; `CI` also
 * counts) the tests never skip: they fail, saying why.
 */
export async function siteNetworkOrSkip(): Promise<SiteNetwork | string> {
  const network = await SiteNetwork.create();
  if (typeof network === 'string' && (process.env.PARSL_TS_REQUIRE_NETNS || process.env.CI)) {
    throw new Error(`the federation tests must run here (PARSL_TS_REQUIRE_NETNS/CI), but cannot: ${network}`);
  }
  return network;
}

export interface Hub {
  server: NatsServer;
  leafPort: number;
  monitorPort: number;
  /** Leaf connections the hub has now (its /leafz). */
  leafCount(): Promise<number>;
  /** A DFK-side connection for talking to a site: in the site's account. */
  connectFor(credential: SiteCredential): Promise<NatsConnection>;
}

/** `advertise`: the leaf-node address leaves are told to redial (a tunnel's `127.0.0.1:PORT`). */
export async function startHub(host: string, credentials: SiteCredential[], advertise?: string): Promise<Hub> {
  const leafPort = await freePort();
  const monitorPort = await freePort();
  const { accounts, leafUsers } = hubSiteOptions(credentials);
  const server = await NatsServer.start({
    domain: 'hub',
    auth: DFK_USER,
    accounts,
    leafnodes: { host, port: leafPort, users: leafUsers, advertise },
    extraConfig: `http: "127.0.0.1:${monitorPort}"`,
  });
  return {
    server,
    leafPort,
    monitorPort,
    async leafCount() {
      const response = await fetch(`http://127.0.0.1:${monitorPort}/leafz`);
      return ((await response.json()) as { leafnodes: number }).leafnodes;
    },
    connectFor(credential) {
      const { user, password: pass } = credential.dfk;
      return connect({ servers: server.url, user, pass, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    },
  };
}

export interface SiteRig {
  site: Site;
  credential: SiteCredential;
  leaf: NatsServer;
  agent: SiteAgent;
}

/** A site's leaf node (dialling `hubLeafUrl`) and an agent on it, both inside the site. */
export async function startSite(site: Site, hubLeafUrl: string, credential = siteCredential(site.name)): Promise<SiteRig> {
  const leaf = await startLeafNode({ credential, hubLeafUrl, server: { netns: site.netns } });
  const agent = await SiteAgent.start(site.netns, leaf.url);
  return { site, credential, leaf, agent };
}

export async function waitForLeaves(hub: Hub, count: number): Promise<void> {
  await waitFor(async () => (await hub.leafCount()) === count, `${count} leaf connections at the hub`, 30_000);
}

export async function stopSite(rig: SiteRig | undefined): Promise<void> {
  if (!rig) return;
  await rig.agent.stop();
  await rig.leaf.stop();
}

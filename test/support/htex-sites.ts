/**
 * Sites of a HighThroughputExecutor for the federation tests: per site, a network namespace
 * (firewalled: inbound only SSH), a leaf node inside it that dials out to the executor's
 * embedded hub (as an administrator's `parsl-ts site` would), and blocks started by a
 * LocalProvider through an SSHChannel to the site's sshd. Nothing but SSH connects into a site.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HighThroughputExecutor, LocalProvider, SSHChannel } from '../../src/index.ts';
import { siteCredential, startLeafNode, type SiteCredential } from '../../src/nats/leaf.ts';
import type { NatsServer } from '../../src/nats/server.ts';
import type { Site, SiteNetwork } from './netns.ts';
import { freePort } from './sshd.ts';

export interface HtexSite {
  site: Site;
  credential: SiteCredential;
  /** The leaf the test started; undefined when the executor starts it (`site.startLeaf`). */
  leaf: NatsServer | undefined;
  /** Where the site's blocks connect: the leaf's client port inside the site. */
  leafUrl: string;
  /** The executor's hub leaf-node port (on the bridge address): where the leaf dials. */
  hubLeafPort: number;
  channel: SSHChannel;
  /** The network namespace's identity, as `/proc/self/ns/net` reads inside it. */
  nsId: string;
}

export type HtexOptions = ConstructorParameters<typeof HighThroughputExecutor>[0];

/** The leaf's client port inside a site whose leaf the executor starts (its own namespace: always free). */
export const SITE_LEAF_PORT = 4222;

/**
 * A site namespace with its leaf (dialling the hub the executor will start) and an SSH channel.
 * `tunnelPort`: the site is isolated (no outbound TCP either) and its leaf dials the executor's
 * SSH reverse tunnel at 127.0.0.1:tunnelPort inside the site. `executorStartsLeaf`: no leaf is
 * started here (the executor's `site.startLeaf` will, on port SITE_LEAF_PORT).
 */
export async function startHtexSite(net: SiteNetwork, name: string, workDir: string, tunnelPort?: number, executorStartsLeaf = false): Promise<HtexSite> {
  const site = await net.addSite(name, { isolated: tunnelPort !== undefined });
  const credential = siteCredential(name);
  const hubLeafPort = await freePort();
  const hubLeafUrl = tunnelPort === undefined ? `nats://${net.hubAddress}:${hubLeafPort}` : `nats://127.0.0.1:${tunnelPort}`;
  // Started before the hub: it redials every second until the executor's hub is up.
  const leaf = executorStartsLeaf ? undefined : await startLeafNode({ credential, hubLeafUrl, auth: credential.blocks, server: { netns: site.netns } });
  const leafUrl = leaf?.url ?? `nats://127.0.0.1:${SITE_LEAF_PORT}`;
  const knownHosts = join(workDir, `known_hosts_${name}`);
  writeFileSync(knownHosts, `${site.sshd.knownHostsLine}\n`);
  const channel = new SSHChannel({
    hostname: site.address,
    port: 22,
    username: 'root',
    privateKeyPath: site.sshd.clientKeyPath,
    knownHostsPath: knownHosts,
    agent: false,
    scriptDir: join(workDir, `scripts_${name}`),
  });
  const nsId = execFileSync('ip', ['netns', 'exec', site.netns, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }).trim();
  return { site, credential, leaf, leafUrl, hubLeafPort, channel, nsId };
}

/** The HighThroughputExecutor of a site: blocks through its SSH channel, connected to its leaf. */
export function siteExecutor(
  s: HtexSite,
  net: SiteNetwork,
  options: HtexOptions & { siteLostTimeout?: number; siteOverrides?: Record<string, unknown> } = {},
): HighThroughputExecutor {
  const { siteLostTimeout, siteOverrides, ...rest } = options;
  return new HighThroughputExecutor({
    label: s.site.name,
    site: {
      name: s.site.name,
      credential: s.credential,
      leafUrl: s.leafUrl,
      hubListen: `${net.hubAddress}:${s.hubLeafPort}`,
      ...(siteLostTimeout === undefined ? {} : { siteLostTimeout }),
      ...siteOverrides,
    },
    provider: new LocalProvider({ channel: s.channel, initBlocks: 1, minBlocks: 0, maxBlocks: 1 }),
    maxWorkersPerNode: 2,
    heartbeatPeriod: 500,
    heartbeatThreshold: 3_000,
    ...rest,
  });
}

/**
 * TCP connections into the site right now, other than SSH: each established socket on the
 * site's own address must be SSH (local port 22) or one the site opened to the hub's leaf port.
 */
export function foreignConnections(s: HtexSite, hubAddress: string): string[] {
  const out = execFileSync('ip', ['netns', 'exec', s.site.netns, 'ss', '-Htn', 'state', 'established'], { encoding: 'utf8' });
  const foreign: string[] = [];
  for (const line of out.split('\n').filter(Boolean)) {
    const [, , local, peer] = line.trim().split(/\s+/);
    if (!local?.startsWith(`${s.site.address}:`)) continue; // lo: inside the site
    if (local === `${s.site.address}:22`) continue;
    if (peer === `${hubAddress}:${s.hubLeafPort}`) continue;
    foreign.push(line.trim());
  }
  return foreign;
}

export async function stopHtexSite(s: HtexSite | undefined): Promise<void> {
  if (!s) return;
  await s.channel.close().catch(() => {});
  await s.leaf?.stop().catch(() => {});
}

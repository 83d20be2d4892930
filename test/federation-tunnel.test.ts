// A driver the site cannot reach: the hub in the root namespace, a site namespace that drops
// every new outbound TCP connection (but on lo) and every inbound one but SSH. The DFK side opens
// an SSHChannel to the site's sshd and a reverse tunnel (ssh2 forwardIn) on a fixed port; the
// site's leaf dials 127.0.0.1:PORT inside the site and reaches the hub through it. Real sshd,
// nats-server, nftables. Root only (CI runs as root and never skips).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { siteCredential, siteNames } from '../src/nats/leaf.ts';
import type { SSHChannel } from '../src/providers/channels/ssh.ts';
import { ReverseTunnel } from '../src/providers/channels/ssh-tunnel.ts';
import { deadline, tempDir, waitFor } from './helpers.ts';
import { siteNetworkOrSkip, startHub, startSite, stopSite, waitForLeaves, type Hub, type SiteRig } from './support/federation.ts';
import type { Site, SiteNetwork } from './support/netns.ts';

const network = await siteNetworkOrSkip();
const skip = typeof network === 'string' ? network : undefined;
if (skip) console.log(`SKIPPED federation-tunnel: ${skip}`);
const it = skip ? test.skip : test;

/** The port the site's sshd binds for the tunnel, inside the site (its own namespace: always free). */
const TUNNEL_PORT = 7422;

const work = tempDir();
let net: SiteNetwork;
let site: Site;
let hub: Hub;
let channel: SSHChannel;
let tunnel: ReverseTunnel;
let rig: SiteRig | undefined;
let nc: NatsConnection | undefined;

test.before(async () => {
  if (skip) return;
  net = network as SiteNetwork;
  site = await net.addSite('c', { isolated: true });
  const credential = siteCredential('c');
  hub = await startHub(net.hubAddress, [credential], `127.0.0.1:${TUNNEL_PORT}`);
  channel = site.sshd.channel(work.path, { hostname: site.address, port: 22 });
  tunnel = await ReverseTunnel.open(channel, { remotePort: TUNNEL_PORT, target: { host: net.hubAddress, port: hub.leafPort }, retryMs: 200 });
  rig = await startSite(site, `nats://127.0.0.1:${TUNNEL_PORT}`, credential);
  nc = await hub.connectFor(credential);
});

test.after(async () => {
  if (skip) return;
  await nc?.close().catch(() => {});
  await stopSite(rig);
  await tunnel?.close();
  await channel?.close();
  await hub?.server.stop();
  await net.destroy();
  work.remove();
});

/** Publishes in the site, reads at the hub through the site's domain. */
async function roundTrip(n: number): Promise<void> {
  const names = siteNames('c');
  await rig!.agent.call({ op: 'jsPublish', subject: `${names.subjectPrefix}.results.${n}`, data: `result ${n}`, msgID: `r${n}` });
  const js = jetstream(nc!, { domain: names.domain, timeout: 10_000 });
  const consumer = await js.consumers.get(names.streams.results, { opt_start_seq: n } as never);
  const msg = await deadline(consumer.next({ expires: 10_000 }), 30_000, 'a result through the tunnel');
  assert.is(msg?.string(), `result ${n}`);
}

// nats-server 2.9 sends its leaf listener's own address in leafnode_urls even with no_advertise
// (checked: `leafnodes { no_advertise: true }` alone still sends it); a leaf adds it to the URLs it
// redials. The hub advertises the tunnel's address instead.
it('tunnel - the only leaf-node URL the hub advertises is the tunnel itself', async () => {
  const info = await deadline(
    new Promise<string>((resolve, reject) => {
      const socket = tcpConnect({ host: net.hubAddress, port: hub.leafPort });
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString());
      });
      socket.once('error', reject);
    }),
    10_000,
    'the hub\'s leaf INFO',
  );
  assert.match(info, /^INFO /);
  const fields = JSON.parse(info.slice(5, info.indexOf('\r\n'))) as { leafnode_urls?: string[] };
  assert.equal(fields.leafnode_urls ?? [], [`127.0.0.1:${TUNNEL_PORT}`]);
  assert.not.ok(info.includes(`${net.hubAddress}:`), 'the hub\'s own address is not advertised');
});

it('tunnel - the site cannot reach the hub directly; its leaf reaches it through the SSH tunnel', async () => {
  const dropped = (): number => {
    const rules = execFileSync('ip', ['netns', 'exec', site.netns, 'nft', 'list', 'chain', 'inet', 'sitefw', 'output'], { encoding: 'utf8' });
    return Number(/counter packets (\d+)/.exec(rules)?.[1]);
  };
  const before = dropped();
  // A direct dial from inside the site to the hub's leaf port: the site's firewall drops it.
  const direct = spawn('ip', ['netns', 'exec', site.netns, 'bash', '-c', `exec 3<>/dev/tcp/${net.hubAddress}/${hub.leafPort} && echo connected`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  direct.stdout.on('data', (chunk) => (out += chunk));
  try {
    await waitFor(() => dropped() > before, 'the site\'s firewall to drop a direct dial to the hub', 20_000);
  } finally {
    direct.kill('SIGKILL');
  }
  assert.not.match(out, /connected/);

  await waitForLeaves(hub, 1);
  await rig!.agent.call({ op: 'addStream', name: siteNames('c').streams.results, subjects: ['parsl.c.results.>'] });
  await roundTrip(1);
  assert.ok(tunnel.accepted >= 1, 'the leaf came through the tunnel');
});

it('tunnel - the SSH connection drops: the tunnel reopens on the same port and the leaf comes back', async () => {
  const opened = tunnel.opened;
  const down = new Promise((resolve) => tunnel.once('down', resolve));
  assert.ok(site.sshd.dropConnections() > 0);
  await deadline(down, 30_000, 'the tunnel to notice the drop');
  await waitFor(() => tunnel.opened > opened, 'the tunnel to reopen', 30_000);
  await waitForLeaves(hub, 1);
  await roundTrip(2);
});

it('tunnel - close() unbinds the port and cuts the leaf off; a new tunnel binds the same port and the leaf is back', async () => {
  await tunnel.close();
  assert.not.ok(tunnel.up);
  await waitForLeaves(hub, 0);
  tunnel = await ReverseTunnel.open(channel, { remotePort: TUNNEL_PORT, target: { host: net.hubAddress, port: hub.leafPort }, retryMs: 200 });
  await waitForLeaves(hub, 1);
  await roundTrip(3);
});

test.run();

// Sites as NATS leaf nodes across a real network boundary: two sites, each a network namespace
// whose firewall refuses every inbound connection but SSH, run leaf nodes that dial out to a hub
// in the root namespace, each with its own credential and JetStream domain. Real nats-server,
// sshd, nftables. Root only (CI runs as root and never skips).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { connect as tcpConnect, type Socket } from 'node:net';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { siteNames } from '../src/nats/leaf.ts';
import { NatsServer } from '../src/nats/server.ts';
import { deadline, rejection, waitFor } from './helpers.ts';
import { siteNetworkOrSkip, startHub, startSite, stopSite, waitForLeaves, type Hub, type SiteRig } from './support/federation.ts';
import type { SiteNetwork } from './support/netns.ts';

const network = await siteNetworkOrSkip();
const skip = typeof network === 'string' ? network : undefined;
if (skip) console.log(`SKIPPED federation-leaf: ${skip}`);
const it = skip ? test.skip : test;

let net: SiteNetwork;
let hub: Hub;
let a: SiteRig;
let b: SiteRig;
const hubConnections: NatsConnection[] = [];

test.before(async () => {
  if (skip) return;
  net = network as SiteNetwork;
  const siteA = await net.addSite('a');
  const siteB = await net.addSite('b');
  const { siteCredential } = await import('../src/nats/leaf.ts');
  const credentials = [siteCredential('a'), siteCredential('b')];
  hub = await startHub(net.hubAddress, credentials);
  const hubLeafUrl = `nats://${net.hubAddress}:${hub.leafPort}`;
  a = await startSite(siteA, hubLeafUrl, credentials[0]);
  b = await startSite(siteB, hubLeafUrl, credentials[1]);
  await waitForLeaves(hub, 2);
});

test.after(async () => {
  if (skip) return;
  for (const nc of hubConnections) await nc.close().catch(() => {});
  await stopSite(a);
  await stopSite(b);
  await hub?.server.stop();
  await net.destroy();
});

async function hubFor(site: string): Promise<NatsConnection> {
  const nc = await hub.connectFor(site === 'a' ? a.credential : b.credential);
  hubConnections.push(nc);
  return nc;
}

it('leaf - a client in a site publishes to its site stream; the hub reads it through the site\'s domain', async () => {
  for (const rig of [a, b]) {
    const names = siteNames(rig.site.name);
    await rig.agent.call({ op: 'addStream', name: names.streams.results, subjects: [`${names.subjectPrefix}.results.>`] });
    const ack = await rig.agent.call({ op: 'jsPublish', subject: `${names.subjectPrefix}.results.1`, data: `from ${rig.site.name}`, msgID: 'r1' });
    assert.is(ack.seq, 1);
  }
  for (const site of ['a', 'b']) {
    const names = siteNames(site);
    const nc = await hubFor(site);
    const jsm = await jetstreamManager(nc, { domain: names.domain });
    const streams = (await jsm.streams.names().next()) as string[];
    assert.equal(streams, [names.streams.results], `domain ${site} holds only its own stream`);
    const consumer = await jetstream(nc, { domain: names.domain }).consumers.get(names.streams.results);
    const msg = await deadline(consumer.next({ expires: 10_000 }), 20_000, 'read from the site');
    assert.is(msg?.string(), `from ${site}`);
  }
});

it('leaf - nothing but SSH connects into a site: the leaf\'s client port is dropped, sshd answers', async () => {
  const dropped = (): number => {
    const rules = execFileSync('ip', ['netns', 'exec', a.site.netns, 'nft', 'list', 'chain', 'inet', 'sitefw', 'input'], { encoding: 'utf8' });
    return Number(/counter packets (\d+)/.exec(rules)?.[1]);
  };
  const before = dropped();
  let connected = false;
  const socket: Socket = tcpConnect({ host: a.site.address, port: a.leaf.port });
  socket.on('connect', () => (connected = true)).on('error', () => {});
  try {
    // The firewall counts the dropped SYN: the event that says the attempt reached the site.
    await waitFor(() => dropped() > before, 'the site firewall to drop the connection', 20_000);
    assert.not.ok(connected, 'a TCP connection into the site\'s NATS port was accepted');
  } finally {
    socket.destroy();
  }
  const banner = await deadline(
    new Promise<string>((resolve, reject) => {
      const ssh = tcpConnect({ host: a.site.address, port: 22 });
      ssh.once('data', (data) => {
        ssh.destroy();
        resolve(data.toString());
      });
      ssh.once('error', reject);
    }),
    20_000,
    'the site\'s sshd',
  );
  assert.match(banner, /^SSH-2\.0-OpenSSH/);
  assert.not.ok(connected);
});

it('leaf - a site\'s credential cannot read or take another site\'s tasks (its own account)', async () => {
  const bNames = siteNames('b');
  const aNames = siteNames('a');
  // Core subjects: a subscriber in site a on site b's task subject gets nothing, while b's does.
  await a.agent.call({ op: 'subscribe', subject: `${bNames.subjectPrefix}.tasks` });
  await a.agent.call({ op: 'subscribe', subject: `${aNames.subjectPrefix}.marker` });
  await b.agent.call({ op: 'subscribe', subject: `${bNames.subjectPrefix}.tasks` });
  const ncB = await hubFor('b');
  const ncA = await hubFor('a');
  // Interest crosses the leaf links asynchronously: publish until each permitted subscriber has one.
  await waitFor(async () => {
    ncB.publish(`${bNames.subjectPrefix}.tasks`, 'task for b');
    await ncB.flush();
    return (await b.agent.call<string[]>({ op: 'received', subject: `${bNames.subjectPrefix}.tasks` })).length > 0;
  }, 'site b to receive its task', 20_000);
  await waitFor(async () => {
    ncA.publish(`${aNames.subjectPrefix}.marker`, 'marker');
    await ncA.flush();
    return (await a.agent.call<string[]>({ op: 'received', subject: `${aNames.subjectPrefix}.marker` })).length > 0;
  }, 'site a to receive its marker', 20_000);
  // The hub sends to site a in order: b's tasks would have come before a's marker.
  assert.equal(await a.agent.call({ op: 'received', subject: `${bNames.subjectPrefix}.tasks` }), []);

  // JetStream: site b's work queue; site a's attempt to take from it is refused, the task stays.
  await b.agent.call({ op: 'addStream', name: bNames.streams.tasks, subjects: [`${bNames.subjectPrefix}.queue.>`], workQueue: true });
  await b.agent.call({ op: 'jsPublish', subject: `${bNames.subjectPrefix}.queue.t1`, data: 'b-task-1', msgID: 't1' });
  const ncBjsm = await jetstreamManager(ncB, { domain: 'b' });
  await ncBjsm.consumers.add(bNames.streams.tasks, { durable_name: 'worker', ack_policy: AckPolicy.Explicit });
  let refusal = '';
  try {
    const taken = await a.agent.call<string | null>({ op: 'consumeOne', domain: 'b', stream: bNames.streams.tasks, consumer: 'worker', timeoutMs: 3_000 });
    assert.unreachable(`site a took site b's task: ${taken}`);
  } catch (error) {
    refusal = String((error as Error).message);
  }
  assert.match(refusal, /no responders|timeout|503|not enabled/i, refusal);
  const consumer = await jetstream(ncB, { domain: 'b' }).consumers.get(bNames.streams.tasks, 'worker');
  assert.is((await consumer.next({ expires: 10_000 }))?.string(), 'b-task-1', 'the task is still there for site b');

  // A leaf's login is good for a leaf connection only: as a client of the hub it is refused.
  const { user, password } = a.credential.leaf;
  await rejection(connect({ servers: hub.server.url, user, pass: password, reconnect: false }), (e) => /authoriz/i.test(String(e.message)));
});

it('leaf - a leaf with no valid credential is refused by the hub', async () => {
  const bad = await NatsServer.start({
    netns: a.site.netns,
    domain: 'intruder',
    extraConfig: `leafnodes { reconnect: 1, remotes: [ { url: "nats://${a.credential.leaf.user}:wrong@${net.hubAddress}:${hub.leafPort}" } ] }`,
  });
  const anonymous = await NatsServer.start({
    netns: a.site.netns,
    domain: 'anonymous',
    extraConfig: `leafnodes { reconnect: 1, remotes: [ { url: "nats://${net.hubAddress}:${hub.leafPort}" } ] }`,
  });
  try {
    await waitFor(() => /authori[sz]ation/i.test(bad.log) && /authori[sz]ation/i.test(anonymous.log), 'both leaves to be refused', 30_000).catch((error) => {
      throw new Error(`${error.message}\n--- bad:\n${bad.log}\n--- anonymous:\n${anonymous.log}\n--- hub:\n${hub.server.log}`);
    });
    assert.is(await hub.leafCount(), 2, 'only the two sites with valid credentials are connected');
  } finally {
    await bad.stop();
    await anonymous.stop();
  }
});

test.run();

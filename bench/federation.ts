/**
 * Federation figures: NATS request/reply from the hub (where the DFK is) to a responder
 *   - raw:    on the hub itself (requester and responder on the hub's client port),
 *   - leaf:   inside a site namespace, behind its firewall, through the site's leaf node
 *             (hub → leaf link over a veth pair → site leaf → responder),
 *   - tunnel: inside a site namespace with no route to the hub, whose leaf reaches the hub
 *             through an SSH reverse tunnel (ssh2 forwardIn over an SSHChannel).
 * For each: sequential round trips (median and p99 latency, requests/s) and throughput with
 * `--inflight` requests outstanding. 100-byte payloads. Root only (network namespaces).
 * Then the same paths through a HighThroughputExecutor (bench/lib/federation-htex.ts): no-op
 * tasks per second and ms per link of a chain, beside a block on the hub itself.
 *
 *   node --import tsx bench/federation.ts [--sequential 2000] [--total 20000] [--inflight 64] [--repeat 3] [--tasks 2000] [--links 200]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { siteCredential } from '../src/nats/leaf.ts';
import { SSHChannel } from '../src/providers/channels/ssh.ts';
import { ReverseTunnel } from '../src/providers/channels/ssh-tunnel.ts';
import { tempDir } from '../test/helpers.ts';
import { DFK_USER, siteNetworkOrSkip, startHub, startSite, stopSite, waitForLeaves, type SiteRig } from '../test/support/federation.ts';
import type { SiteNetwork } from '../test/support/netns.ts';
import { htexPaths } from './lib/federation-htex.ts';

const { values } = parseArgs({
  options: {
    sequential: { type: 'string', default: '2000' },
    total: { type: 'string', default: '20000' },
    inflight: { type: 'string', default: '64' },
    repeat: { type: 'string', default: '3' },
    tasks: { type: 'string', default: '2000' },
    links: { type: 'string', default: '200' },
  },
});
const SEQUENTIAL = Number(values.sequential);
const TOTAL = Number(values.total);
const IN_FLIGHT = Number(values.inflight);
const REPEAT = Number(values.repeat);
const TUNNEL_PORT = 7422;
const payload = new Uint8Array(100).fill(120);

interface Figures {
  medianMs: number;
  p99Ms: number;
  sequentialPerS: number;
  throughputPerS: number;
}

async function measure(nc: NatsConnection, subject: string): Promise<Figures> {
  // Interest crosses the leaf link asynchronously: the first request that gets an answer says it arrived.
  for (;;) {
    try {
      await nc.request(subject, payload, { timeout: 1_000 });
      break;
    } catch {}
  }
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await nc.request(subject, payload, { timeout: 10_000 });
    latencies.push(performance.now() - t);
  }
  const sequentialMs = performance.now() - started;
  latencies.sort((x, y) => x - y);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < TOTAL) {
        next++;
        await nc.request(subject, payload, { timeout: 30_000 });
      }
    }),
  );
  const throughputMs = performance.now() - t0;
  return {
    medianMs: latencies[Math.floor(latencies.length / 2)]!,
    p99Ms: latencies[Math.floor(latencies.length * 0.99)]!,
    sequentialPerS: (SEQUENTIAL / sequentialMs) * 1000,
    throughputPerS: (TOTAL / throughputMs) * 1000,
  };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const network = await siteNetworkOrSkip();
  if (typeof network === 'string') {
    console.log(`bench/federation: cannot run here: ${network}`);
    return;
  }
  const net: SiteNetwork = network;
  const work = tempDir();
  const rigs: SiteRig[] = [];
  const connections: NatsConnection[] = [];
  let channel: SSHChannel | undefined;
  let tunnel: ReverseTunnel | undefined;
  let hub: Awaited<ReturnType<typeof startHub>> | undefined;
  try {
    const siteA = await net.addSite('a');
    const siteC = await net.addSite('c', { isolated: true });
    const credA = siteCredential('a');
    const credC = siteCredential('c');
    hub = await startHub(net.hubAddress, [credA, credC], `127.0.0.1:${TUNNEL_PORT}`);
    const knownHosts = join(work.path, 'known_hosts');
    writeFileSync(knownHosts, `${siteC.sshd.knownHostsLine}\n`);
    channel = new SSHChannel({
      hostname: siteC.address,
      port: 22,
      username: 'root',
      privateKeyPath: siteC.sshd.clientKeyPath,
      knownHostsPath: knownHosts,
      agent: false,
    });
    tunnel = await ReverseTunnel.open(channel, { remotePort: TUNNEL_PORT, target: { host: net.hubAddress, port: hub.leafPort } });
    rigs.push(await startSite(siteA, `nats://${net.hubAddress}:${hub.leafPort}`, credA));
    rigs.push(await startSite(siteC, `nats://127.0.0.1:${TUNNEL_PORT}`, credC));
    await waitForLeaves(hub, 2);
    await rigs[0]!.agent.call({ op: 'serve', subject: 'parsl.a.echo' });
    await rigs[1]!.agent.call({ op: 'serve', subject: 'parsl.c.echo' });

    // Raw: a responder on the hub, in the hub's own account.
    const responder = await connect({ servers: hub.server.url, user: DFK_USER.user, pass: DFK_USER.password });
    connections.push(responder);
    const echo = responder.subscribe('bench.echo');
    void (async () => {
      for await (const msg of echo) msg.respond(msg.data);
    })();
    await responder.flush();
    const rawClient = await connect({ servers: hub.server.url, user: DFK_USER.user, pass: DFK_USER.password });
    const leafClient = await hub.connectFor(credA);
    const tunnelClient = await hub.connectFor(credC);
    connections.push(rawClient, leafClient, tunnelClient);

    const paths: Array<[string, NatsConnection, string]> = [
      ['raw (hub only)', rawClient, 'bench.echo'],
      ['through a leaf', leafClient, 'parsl.a.echo'],
      ['through the SSH tunnel', tunnelClient, 'parsl.c.echo'],
    ];
    const results = new Map<string, Figures[]>();
    for (let run = 0; run < REPEAT; run++) {
      for (const [name, nc, subject] of paths) {
        const figures = await measure(nc, subject);
        results.set(name, [...(results.get(name) ?? []), figures]);
        console.error(`run ${run + 1}/${REPEAT} ${name}: ${JSON.stringify(figures)}`);
      }
    }
    console.log(`\nRequest/reply from the hub, 100-byte payloads, median of ${REPEAT} runs ` +
      `(${SEQUENTIAL} sequential, ${TOTAL} with ${IN_FLIGHT} in flight):\n`);
    console.log('| path | median RTT (ms) | p99 RTT (ms) | sequential req/s | req/s, ' + IN_FLIGHT + ' in flight |');
    console.log('|---|---|---|---|---|');
    for (const [name] of paths) {
      const runs = results.get(name)!;
      const m = (key: keyof Figures): number => median(runs.map((r) => r[key]));
      console.log(`| ${name} | ${m('medianMs').toFixed(3)} | ${m('p99Ms').toFixed(3)} | ${m('sequentialPerS').toFixed(0)} | ${m('throughputPerS').toFixed(0)} |`);
    }
    console.log(`\ntunnel: ${tunnel.accepted} connection(s) carried`);

    const htex = await htexPaths(net, work.path, { tasks: Number(values.tasks), links: Number(values.links), repeat: REPEAT, tunnelPort: TUNNEL_PORT + 1 });
    console.log(`\nTasks through a HighThroughputExecutor (1 block, 2 workers), median of ${REPEAT} runs:\n`);
    console.log(`| path | no-op tasks/s (${values.tasks}) | chain ms/link (${values.links}) |`);
    console.log('|---|---|---|');
    for (const [name, runs] of htex) {
      console.log(`| ${name} | ${median(runs.map((r) => r.tasksPerS)).toFixed(0)} | ${median(runs.map((r) => r.msPerLink)).toFixed(2)} |`);
    }
  } finally {
    for (const nc of connections) await nc.close().catch(() => {});
    for (const rig of rigs) await stopSite(rig);
    await tunnel?.close();
    await channel?.close();
    await hub?.server.stop();
    await net.destroy();
    work.remove();
  }
}

await main();

// A driver the site cannot reach, through HighThroughputExecutor: the site is a network
// namespace that drops every new inbound TCP connection but SSH and every new outbound one (but
// on lo); the executor's embedded hub listens on loopback only. Everything at the site is started
// for the user over the provider's SSHChannel: `site.tunnel` opens an SSH reverse tunnel through
// which the site's leaf reaches the hub, `site.startLeaf` runs `parsl-ts site` on the login node,
// and the blocks talk only to that leaf. Real sshd, nats-server,
// nftables. Root only (CI runs as root and never skips).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, clear, Config, load } from '../src/index.ts';
import { deadline, tempDir, waitFor } from './helpers.ts';
import { siteNetworkOrSkip } from './support/federation.ts';
import type { SiteNetwork } from './support/netns.ts';
import { foreignConnections, siteExecutor, startHtexSite, stopHtexSite, type HtexSite } from './support/htex-sites.ts';

const network = await siteNetworkOrSkip();
const skip = typeof network === 'string' ? network : undefined;
if (skip) console.log(`SKIPPED federation-htex-tunnel: ${skip}`);
const it = skip ? test.skip : test;

/** The tunnel's port on the site (its own namespace: always free there). */
const TUNNEL_PORT = 7422;

const work = tempDir();
let net: SiteNetwork;
let c: HtexSite;

test.before(async () => {
  if (skip) return;
  net = network as SiteNetwork;
  c = await startHtexSite(net, 'c', work.path, TUNNEL_PORT, true);
});

/** nats-server processes inside the site's namespace. */
function natsServersIn(s: HtexSite): number {
  const pids = execFileSync('ip', ['netns', 'pids', s.site.netns], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nats-server';
    } catch {
      return false;
    }
  }).length;
}

test.after(async () => {
  if (skip) return;
  await clear();
  await stopHtexSite(c);
  await net.destroy();
  work.remove();
});

it('sites - a driver behind NAT: tunnel, leaf and blocks started over SSH; tasks reach an isolated site and come back; nothing outlives the run', async () => {
  const executor = siteExecutor(c, net, {
    // Loopback only: nothing outside this machine can reach the hub but through the tunnel.
    siteOverrides: {
      hubListen: `127.0.0.1:${c.hubLeafPort}`,
      tunnel: { remotePort: TUNNEL_PORT },
      startLeaf: { listen: '127.0.0.1', dir: join(work.path, 'site-c') },
    },
  });
  assert.is(executor.options.site?.hubAdvertise, `127.0.0.1:${TUNNEL_PORT}`);
  load(new Config({ executors: [executor], runDir: work.path, retries: 0 }));
  const where = app(async (x: number) => {
    const { readlinkSync } = await import('node:fs');
    return { value: x + 1, ns: readlinkSync('/proc/self/ns/net') };
  });
  const results = await deadline(Promise.all(Array.from({ length: 20 }, (_, i) => where(i))), 120_000, 'tasks through the tunnel');
  assert.ok(results.every((r, i) => r.value === i + 1 && r.ns === c.nsId), 'every task ran at the isolated site');
  // A chain of dependent tasks: each link crosses the tunnel twice.
  const inc = app((x: number) => x + 1);
  let chain = inc(0);
  for (let i = 0; i < 19; i++) chain = inc(chain);
  assert.is(await deadline(chain, 120_000, 'a chain through the tunnel'), 20);
  assert.equal(foreignConnections(c, net.hubAddress), [], 'no connection into the site but SSH');
  assert.ok(natsServersIn(c) > 0, 'the executor started the site\'s leaf there');
  await clear();
  // Nothing the run started at the site outlives it: the leaf got SIGTERM and flushed its store.
  await deadline(waitFor(() => natsServersIn(c) === 0, 'the site\'s leaf to stop', 30_000));
});

test.run();

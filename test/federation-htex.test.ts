// Two sites through HighThroughputExecutor, across a real network boundary: each site is a
// network namespace whose firewall drops every inbound TCP connection but SSH; its leaf node
// dials out to the executor's embedded hub; its blocks are started over SSH by a LocalProvider
// and talk only to the leaf; its task queue lives in its own JetStream domain. Real nats-server,
// sshd, nftables. Root only (CI runs as root and never skips).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, clear, Config, dfk, load } from '../src/index.ts';
import { htexManager, NatsServer } from '../src/internal.ts';
import { hubSiteOptions } from '../src/nats/leaf.ts';
import { deadline, waitFor } from './helpers.ts';
import { DFK_USER } from './support/federation.ts';
import type { SiteNetwork } from './support/netns.ts';
import { foreignConnections, siteExecutor, startHtexSite, stopHtexSite, type HtexSite } from './support/htex-sites.ts';
import { twoSiteSuite } from './support/two-sites.ts';

let net: SiteNetwork;
let a: HtexSite;
let b: HtexSite;
const { it, work } = await twoSiteSuite('federation-htex', test, (s) => ({ net, a, b } = s));

/** Where a task ran: its network namespace. */
const whereAmI = async (): Promise<string> => {
  const { readlinkSync } = await import('node:fs');
  return readlinkSync('/proc/self/ns/net');
};

it('sites - the multi-site demo: a platform app pinned to each site, then double on either; only SSH connects into a site', async () => {
  load(new Config({ executors: [siteExecutor(a, net), siteExecutor(b, net)], runDir: work.path, retries: 0 }));
  const platformA = app(whereAmI, { executors: ['a'] });
  const platformB = app(whereAmI, { executors: ['b'] });
  assert.is(await deadline(platformA(), 120_000, 'platform at site a'), a.nsId);
  assert.is(await deadline(platformB(), 120_000, 'platform at site b'), b.nsId);

  const double = app(async (x: number) => {
    const { readlinkSync } = await import('node:fs');
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { value: 2 * x, ns: readlinkSync('/proc/self/ns/net') };
  });
  const results = await deadline(Promise.all(Array.from({ length: 60 }, (_, i) => double(i))), 120_000, 'double');
  assert.ok(results.every((r, i) => r.value === 2 * i), 'every result is right');
  const perSite = new Map<string, number>();
  for (const r of results) perSite.set(r.ns, (perSite.get(r.ns) ?? 0) + 1);
  assert.ok([...perSite.keys()].every((ns) => ns === a.nsId || ns === b.nsId), 'tasks ran only at the sites');
  assert.ok((perSite.get(a.nsId) ?? 0) > 0 && (perSite.get(b.nsId) ?? 0) > 0, `unpinned tasks went to both sites: ${JSON.stringify([...perSite.values()])}`);

  // The blocks talk to their leaf, never to the hub.
  for (const label of ['a', 'b']) {
    const manager = htexManager(dfk(), label);
    assert.equal(manager.blockConnection?.servers, (label === 'a' ? a : b).leafUrl);
    assert.ok(manager.blocks().every((block) => block.live), `site ${label}'s block is registered`);
  }
  for (const s of [a, b]) assert.equal(foreignConnections(s, net.hubAddress), [], `no connection into site ${s.site.name} but SSH`);
});

it('sites - a site that is full gets fewer unpinned tasks than one with free workers', async () => {
  // Site a has one worker, b four: both registered before the flood.
  load(
    new Config({
      executors: [siteExecutor(a, net, { maxWorkersPerNode: 1 }), siteExecutor(b, net, { maxWorkersPerNode: 4 })],
      runDir: work.path,
    }),
  );
  const managers = ['a', 'b'].map((label) => htexManager(dfk(), label));
  await deadline(waitFor(() => managers.every((m) => m.blocks().some((block) => block.phase === 'registered')), 'both sites\' blocks registered', 120_000));
  const slow = app(async (x: number) => {
    const { readlinkSync } = await import('node:fs');
    await new Promise((resolve) => setTimeout(resolve, 50));
    return readlinkSync('/proc/self/ns/net') + ` ${x}`;
  });
  const results = await deadline(Promise.all(Array.from({ length: 100 }, (_, i) => slow(i))), 120_000, 'slow tasks');
  const atA = results.filter((r) => r.startsWith(`${a.nsId} `)).length;
  const atB = results.filter((r) => r.startsWith(`${b.nsId} `)).length;
  assert.is(atA + atB, 100);
  assert.ok(atB > 2 * atA, `the site with four workers took most (a: ${atA}, b: ${atB})`);
});

it('sites - on your own hub (nats.servers): the DFK logs in to the site\'s account there, the queue is at the site', async () => {
  const o = await startHtexSite(net, 'o', work.path);
  const { accounts, leafUsers } = hubSiteOptions([o.credential]);
  const hub = await NatsServer.start({ domain: 'hub', auth: DFK_USER, accounts, leafnodes: { host: net.hubAddress, port: o.hubLeafPort, users: leafUsers } });
  try {
    const { user, password } = o.credential.dfk;
    load(new Config({ executors: [siteExecutor(o, net, { nats: { servers: hub.url, user, password }, siteOverrides: { hubListen: undefined } })], runDir: work.path }));
    assert.is(await deadline(app(whereAmI)(), 120_000, 'a task at the site'), o.nsId);
    assert.equal(htexManager(dfk(), 'o').blockConnection?.servers, o.leafUrl);
  } finally {
    // The run ends while the hub is up: its streams at the site are deleted through it.
    await clear();
    await hub.stop();
    await stopHtexSite(o);
  }
});

test.run();

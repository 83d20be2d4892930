// Faults of sites through HighThroughputExecutor, across a real network boundary (namespaces,
// nftables dropping inbound but SSH, real nats-server and sshd): (a) a site's link cut for 10 s
// mid-run loses nothing; (b) a site's leaf and blocks killed mid-run: its unpinned tasks move to
// the other site, its pinned tasks fail with SiteLost after siteLostTimeout, and the run ends.
// Root only (CI runs as root and never skips).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { app, Config, load, SiteLost } from '../src/index.ts';
import { deadline, rejection, waitFor } from './helpers.ts';
import type { SiteNetwork } from './support/netns.ts';
import { siteExecutor, type HtexSite } from './support/htex-sites.ts';
import { twoSiteSuite } from './support/two-sites.ts';

let net: SiteNetwork;
let a: HtexSite;
let b: HtexSite;
const { it, work } = await twoSiteSuite('federation-htex-faults', test, (s) => ({ net, a, b } = s));

/**
 * A task that marks where it started (`dir/<i>@<its namespace inode>`), takes `ms`, and returns
 * its input doubled with its namespace.
 */
const marked = async (dir: string, i: number, ms: number): Promise<{ value: number; ns: string }> => {
  const { readlinkSync, writeFileSync } = await import('node:fs');
  const ns = readlinkSync('/proc/self/ns/net');
  writeFileSync(`${dir}/${i}@${ns.replace(/\D/g, '')}`, '');
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { value: 2 * i, ns };
};

function startedAt(dir: string, s: HtexSite): number {
  const inode = s.nsId.replace(/\D/g, '');
  return readdirSync(dir).filter((name) => name.endsWith(`@${inode}`)).length;
}

it('sites - a 10 s cut of a site\'s link mid-run loses nothing: its blocks work on what is queued there, results come back after', async () => {
  load(
    new Config({
      // The threshold outlasts the cut: neither side gives the other up.
      executors: [siteExecutor(a, net, { heartbeatThreshold: 30_000 }), siteExecutor(b, net, { heartbeatThreshold: 30_000 })],
      runDir: work.path,
      retries: 0,
    }),
  );
  const dir = join(work.path, 'cut');
  mkdirSync(dir);
  const atB = app(marked, { executors: ['b'] });
  const before = Array.from({ length: 30 }, (_, i) => atB(dir, i, 300));
  await deadline(waitFor(() => startedAt(dir, b) > 0, 'a task running at site b', 120_000));
  b.site.linkDown();
  try {
    // Submitted during the cut: stored at the site once the link is back.
    const during = Array.from({ length: 10 }, (_, i) => atB(dir, 100 + i, 10));
    await sleep(10_000); // the cut itself, not a wait for an event
    b.site.linkUp();
    const results = await deadline(Promise.all([...before, ...during]), 120_000, 'every task after the cut');
    assert.equal(
      results.map((r) => r.value),
      [...Array.from({ length: 30 }, (_, i) => 2 * i), ...Array.from({ length: 10 }, (_, i) => 200 + 2 * i)],
    );
    assert.ok(results.every((r) => r.ns === b.nsId), 'every task ran at site b');
  } finally {
    b.site.linkUp();
  }
});

it('sites - a site\'s leaf and blocks killed mid-run: unpinned tasks move to the other site, pinned ones fail with SiteLost', async () => {
  load(
    new Config({
      // Site b runs 4 worker threads whatever the machine's cores (a block runs at most cores /
      // coresPerWorker threads: 2 on a 2-core machine): the two pinned tasks take two of them, and
      // the unpinned tasks placed at b must find free ones to start there.
      executors: [siteExecutor(a, net), siteExecutor(b, net, { maxWorkersPerNode: 4, coresPerWorker: 0.25, siteLostTimeout: 8_000 })],
      runDir: work.path,
      retries: 1,
      strategy: 'none',
    }),
  );
  const dir = join(work.path, 'killed');
  mkdirSync(dir);
  const pinned = app(marked, { executors: ['b'] });
  const anywhere = app(marked);
  const held = [pinned(dir, 1000, 600_000), pinned(dir, 1001, 600_000)];
  const unpinned = Array.from({ length: 40 }, (_, i) => anywhere(dir, i, 1_000));
  await deadline(
    waitFor(() => existsSync(join(dir, `1000@${b.nsId.replace(/\D/g, '')}`)) && startedAt(dir, b) > 2, 'pinned and unpinned tasks running at b', 120_000),
  );
  killSite(b);

  const results = await deadline(Promise.all(unpinned), 120_000, 'the unpinned tasks');
  assert.equal(
    results.map((r) => r.value),
    Array.from({ length: 40 }, (_, i) => 2 * i),
  );
  // Started at b, ended at a: it moved (b was killed under it).
  const [inodeA, inodeB] = [a, b].map((s) => s.nsId.replace(/\D/g, ''));
  const moved = results.filter((r, i) => r.ns === a.nsId && existsSync(join(dir, `${i}@${inodeB}`)) && existsSync(join(dir, `${i}@${inodeA}`)));
  assert.ok(moved.length > 0, 'a task running at b when it was killed finished at a');
  for (const future of held) {
    const error = await deadline(rejection(future), 120_000, 'the pinned task to fail');
    assert.instance(error, SiteLost, `failed with SiteLost: ${String(error)}`);
    assert.is((error as SiteLost).site, 'b');
  }
});

/** SIGKILL the site's leaf node and block managers (its sshd stays: the site's login node). */
function killSite(s: HtexSite): void {
  const pids = execFileSync('ip', ['netns', 'pids', s.site.netns], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    let comm = '';
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm === 'nats-server' || comm === 'node') {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
}

test.run();

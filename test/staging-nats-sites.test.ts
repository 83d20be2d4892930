// nats:// files between two sites that share no network but their links to the hub: each site is
// a network namespace (inbound only SSH) with its leaf node and an HTEX block started over SSH;
// each executor has its own working directory. An app at site a writes an output
// nats://run/NAME (its worker puts it into site a's object store, on a's leaf); an app at site
// b reads it (the DFK relays the object from a's store to b's; b's worker gets it from its leaf,
// digest checked). Then the same with a link cut mid-relay (`ip link set … down`, a real
// outage): the copy resumes and the file arrives whole. Real nats-server, sshd, nftables. Root only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { app, Config, File, load, NatsObjectStaging, NoOpFileStaging } from '../src/index.ts';
import { objectRoute } from '../src/staging/object-routes.ts';
import { objectInfo, objectTransferEvents } from '../src/staging/object-store.ts';
import { deadline } from './helpers.ts';
import type { SiteNetwork } from './support/netns.ts';
import { siteExecutor, type HtexSite } from './support/htex-sites.ts';
import { twoSiteSuite } from './support/two-sites.ts';

let net: SiteNetwork;
let a: HtexSite;
let b: HtexSite;
// After each test both links are up again (a test cuts them).
const { it, work } = await twoSiteSuite('staging-nats-sites', test, (s) => ({ net, a, b } = s), (s) => {
  s.a.site.linkUp();
  s.b.site.linkUp();
});

/** Both sites, each staging nats:// files in its tasks, each in a working directory of its own. */
function loadSites(heartbeatThreshold = 3_000): void {
  const storageAccess = [new NoOpFileStaging(), new NatsObjectStaging()];
  load(
    new Config({
      executors: [
        siteExecutor(a, net, { storageAccess, workingDir: join(work.path, 'work-a'), heartbeatThreshold }),
        siteExecutor(b, net, { storageAccess, workingDir: join(work.path, 'work-b'), heartbeatThreshold }),
      ],
      runDir: work.path,
      retries: 0,
    }),
  );
}

/** Writes `size` random bytes to its output; says what it wrote and where it ran. */
const writeRandom = async (size: number, opts: { outputs: File[] }) => {
  const { writeFileSync, readlinkSync } = await import('node:fs');
  const { randomBytes, createHash } = await import('node:crypto');
  const data = randomBytes(size);
  writeFileSync(opts.outputs[0]!.filepath, data);
  return { sha: createHash('sha256').update(data).digest('hex'), ns: readlinkSync('/proc/self/ns/net'), path: opts.outputs[0]!.filepath };
};

/** Reads its input: its digest, size, where it ran and the path it read. */
const readBack = async (opts: { inputs: File[] }) => {
  const { readFileSync, readlinkSync } = await import('node:fs');
  const { createHash } = await import('node:crypto');
  const data = readFileSync(opts.inputs[0]!.filepath);
  return { sha: createHash('sha256').update(data).digest('hex'), size: data.length, ns: readlinkSync('/proc/self/ns/net'), path: opts.inputs[0]!.filepath };
};

it('nats files - written by an app at site a, read by an app at site b: relayed through the object stores, checksum verified', async () => {
  loadSites();
  const write = app(writeRandom, { executors: ['a'] });
  const read = app(readBack, { executors: ['b'] });
  let copies = 0;
  const onStored = (e: { name: string; bytes: number }): void => void (e.name === 'data/first.bin' && e.bytes === 3_000_001 && copies++);
  objectTransferEvents.on('stored', onStored);
  const made = write(3_000_001, { outputs: [new File('nats://run/data/first.bin')] });
  // Two readers at site b: one copy, shared.
  const [got, second] = await deadline(Promise.all([read({ inputs: [made.outputs[0]!] }), read({ inputs: [made.outputs[0]!] })]), 120_000, 'the readers at site b');
  objectTransferEvents.off('stored', onStored);
  const wrote = await made;
  assert.is(second.sha, wrote.sha, 'the second reader too');
  assert.is(copies, 1, 'the object was copied to site b once');
  assert.is(wrote.ns, a.nsId, 'written at site a');
  assert.is(got.ns, b.nsId, 'read at site b');
  assert.is(got.size, 3_000_001);
  assert.is(got.sha, wrote.sha, 'the same bytes');
  assert.ok(wrote.path.startsWith(join(work.path, 'work-a')) && got.path.startsWith(join(work.path, 'work-b')), `${wrote.path} -> ${got.path}`);
  // The object is in both sites' stores: a's (put by a's worker), b's (the relay's copy).
  for (const label of ['a', 'b']) {
    const meta = await objectInfo(await objectRoute(label), 'run', 'data/first.bin');
    assert.is(meta?.size, 3_000_001, `the object at site ${label}`);
  }
  // A reader that may run at either site goes where the object is: no copy.
  const anywhere = app(readBack);
  const near = await deadline(anywhere({ inputs: [made.outputs[0]!] }), 120_000, 'an unpinned reader');
  assert.is(near.ns, a.nsId, 'the unpinned reader ran at the writer\'s site');
  assert.is(near.sha, wrote.sha);
});

it('nats files - a missing object fails the reader with a StagingError naming the URL', async () => {
  loadSites();
  const read = app(readBack, { executors: ['b'] });
  const error = await deadline(read({ inputs: [new File('nats://run/never-written')] }).then(() => undefined, (e: unknown) => e as Error), 120_000, 'the reader');
  assert.ok(error, 'the reader failed');
  assert.is(error!.name, 'StagingError');
  assert.match(error!.message, /nats:\/\/run\/never-written.*no object 'never-written' in bucket 'run'/);
});

for (const cut of ['b', 'a'] as const) {
  it(`nats files - site ${cut}'s link cut mid-relay (${cut === 'b' ? 'the copy\'s writes' : 'the copy\'s reads'} fail): the copy resumes, the file arrives whole`, async () => {
    // Blocks keep their place through the outage (heartbeats cross the cut link).
    loadSites(600_000);
    const site = cut === 'a' ? a : b;
    const name = `cut-${cut}.bin`;
    let down = false;
    let up = false;
    let storedBeforeCut = 0;
    let retriesInCut = 0;
    const onStored = (e: { name: string; bytes: number }): void => {
      if (e.name !== name || down || e.bytes < 4 * 1024 * 1024) return;
      storedBeforeCut = e.bytes;
      site.site.linkDown();
      down = true;
    };
    // The link comes back once the copy has failed at least once (a publish or a fetch timed out).
    const onRetry = (e: { name: string }): void => {
      if (e.name !== name || !down || up) return;
      retriesInCut++;
      site.site.linkUp();
      up = true;
    };
    objectTransferEvents.on('stored', onStored);
    objectTransferEvents.on('retry', onRetry);
    try {
      const write = app(writeRandom, { executors: ['a'] });
      const read = app(readBack, { executors: ['b'] });
      const made = write(16 * 1024 * 1024, { outputs: [new File(`nats://run/${name}`)] });
      const got = await deadline(read({ inputs: [made.outputs[0]!] }), 240_000, 'the reader at site b');
      const wrote = await made;
      console.log(`  cut ${cut}: link down after ${storedBeforeCut} bytes copied; the copy failed and resumed`);
      assert.ok(down && up && retriesInCut > 0, 'the cut happened mid-copy and made it retry');
      assert.ok(storedBeforeCut < 16 * 1024 * 1024, 'mid-transfer');
      assert.is(got.size, 16 * 1024 * 1024);
      assert.is(got.sha, wrote.sha, 'the same bytes');
    } finally {
      objectTransferEvents.off('stored', onStored);
      objectTransferEvents.off('retry', onRetry);
    }
  });
}

test.run();

/**
 * Throughput of `nats://` files through a JetStream object store (src/staging/object-store.ts),
 * beside raw baselines:
 *
 *   node --import tsx bench/object-store.ts [--mb 64] [--small 200] [--small-size 4096] [--repeat 3]
 *
 * A hub and two sites' leaf nodes (domains `a`, `b`) on loopback, as in a run with sites. Subjects:
 * - put: parsl-ts `putFile` (each chunk published until stored, with a message id) through the
 *   leaf, as a block's worker does; raw: `@nats-io/obj`'s own `put` of the same file;
 * - get across the link: parsl-ts `getFile` from the hub in domain `a` (temporary name, digest,
 *   rename), as the driver's relay reads; raw: `@nats-io/obj`'s `get` streamed to a file;
 * - relay: `copyObject` from site a's store to site b's (a second leaf), as the driver's
 *   `_nats_relay` task copies between sites;
 * - `fs.copyFile` of the same file (no network at all);
 * - N small files put then got one after the other (files/s).
 * Each figure is the median of `--repeat` runs, subjects rotated each round; nothing asserted.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { NatsServer } from '../src/nats/server.ts';
import { hubSiteOptions, siteCredential, startLeafNode } from '../src/nats/leaf.ts';
import { copyObject, getFile, putFile, type ObjectEnd } from '../src/staging/object-store.ts';
import { freePort } from '../test/support/sshd.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const MB = option('mb', 64);
const SMALL = option('small', 200);
const SMALL_SIZE = option('small-size', 4096);
const REPEAT = option('repeat', 3);

const dir = mkdtempSync(join(tmpdir(), 'parsl-ts-bench-objects-'));
const credential = siteCredential('a');
const credentialB = siteCredential('b');
const { accounts, leafUsers } = hubSiteOptions([credential, credentialB]);
const leafPort = await freePort();
mkdirSync(join(dir, 'hub'));
mkdirSync(join(dir, 'leaf'));
mkdirSync(join(dir, 'leaf-b'));
const hub = await NatsServer.start({
  domain: 'hub',
  dir: join(dir, 'hub'),
  auth: { user: 'dfk', password: 'dfk' },
  accounts,
  leafnodes: { host: '127.0.0.1', port: leafPort, users: leafUsers },
});
const leaf = await startLeafNode({ credential, hubLeafUrl: `nats://127.0.0.1:${leafPort}`, server: { dir: join(dir, 'leaf') } });
const leafB = await startLeafNode({ credential: credentialB, hubLeafUrl: `nats://127.0.0.1:${leafPort}`, server: { dir: join(dir, 'leaf-b') } });
const siteNc = await connect({ servers: leaf.url });
const dfkNc = await connect({ servers: hub.url, user: credential.dfk.user, pass: credential.dfk.password });
const dfkNcB = await connect({ servers: hub.url, user: credentialB.dfk.user, pass: credentialB.dfk.password });
const site: ObjectEnd = { js: jetstream(siteNc), jsm: await jetstreamManager(siteNc) };
// The DFK's view of the site's store: across the leaf link, in the site's domain.
const remote: ObjectEnd = { js: jetstream(dfkNc, { domain: 'a', timeout: 10_000 }), jsm: await jetstreamManager(dfkNc, { domain: 'a', timeout: 10_000, checkAPI: false }) };
// Another site's store, through the DFK's login to that site: the relay's target.
const siteB: ObjectEnd = { js: jetstream(dfkNcB, { domain: 'b', timeout: 10_000 }), jsm: await jetstreamManager(dfkNcB, { domain: 'b', timeout: 10_000, checkAPI: false }) };
for (let i = 0; i < 100; i++) {
  try {
    await remote.jsm.getAccountInfo();
    await siteB.jsm.getAccountInfo();
    break;
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 100)); // the leaf dials in within a second
  }
}

const big = join(dir, 'big.bin');
writeFileSync(big, randomBytes(MB * 1024 * 1024));
const smallFiles = Array.from({ length: SMALL }, (_, i) => {
  const path = join(dir, `small-${i}`);
  writeFileSync(path, randomBytes(SMALL_SIZE));
  return path;
});
const siteOs = await new Objm(site.js).create('bench');
const remoteOs = await new Objm(remote.js).open('bench');
await putFile(site, 'bench', 'big', big);

interface Subject {
  name: string;
  /** Bytes moved, or files when `files` is set. */
  run: () => Promise<void>;
  files?: number;
}
const bytes = MB * 1024 * 1024;
let round = 0;
const subjects: Subject[] = [
  { name: 'put: parsl-ts putFile (through the leaf)', run: async () => void (await putFile(site, 'bench', 'p', big)) },
  {
    name: 'put: raw @nats-io/obj put',
    run: async () => {
      const handle = await open(big);
      try {
        await siteOs.put({ name: 'raw' }, Readable.toWeb(handle.createReadStream()) as ReadableStream<Uint8Array>);
      } finally {
        await handle.close();
      }
    },
  },
  { name: 'get across the link: parsl-ts getFile', run: async () => void (await getFile(remote, 'bench', 'big', join(dir, `got-${round}`))) },
  {
    name: 'get across the link: raw @nats-io/obj get',
    run: async () => {
      const result = (await remoteOs.get('big'))!;
      await pipeline(Readable.fromWeb(result.data as WebReadableStream<Uint8Array>), createWriteStream(join(dir, `raw-${round}`)));
      await result.error;
    },
  },
  { name: 'relay site a -> driver -> site b: parsl-ts copyObject', run: async () => void (await copyObject(remote, siteB, 'bench', 'big')) },
  { name: 'fs.copyFile (no network)', run: () => copyFile(big, join(dir, `copy-${round}`)) },
  {
    name: `${SMALL} files of ${SMALL_SIZE} B: putFile then getFile across the link`,
    files: SMALL,
    run: async () => {
      for (const [i, path] of smallFiles.entries()) await putFile(site, 'bench', `s${i}`, path);
      for (let i = 0; i < SMALL; i++) await getFile(remote, 'bench', `s${i}`, join(dir, 'small-out', `s${i}`));
    },
  },
  {
    name: `${SMALL} files of ${SMALL_SIZE} B: raw @nats-io/obj putBlob then getBlob`,
    files: SMALL,
    run: async () => {
      for (const [i, path] of smallFiles.entries()) await siteOs.putBlob({ name: `r${i}` }, readFileSync(path));
      for (let i = 0; i < SMALL; i++) await remoteOs.getBlob(`r${i}`);
    },
  },
];

const times = new Map<string, number[]>();
for (round = 0; round < REPEAT; round++) {
  const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]!);
  for (const subject of order) {
    const start = performance.now();
    await subject.run();
    const list = times.get(subject.name) ?? [];
    list.push((performance.now() - start) / 1000);
    times.set(subject.name, list);
  }
}
const median = (list: number[]): number => [...list].sort((x, y) => x - y)[Math.floor(list.length / 2)]!;

console.log(`object store throughput: ${MB} MiB file, ${SMALL} files of ${SMALL_SIZE} B; hub + leaf on loopback; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}; median of ${REPEAT}`);
for (const subject of subjects) {
  const seconds = median(times.get(subject.name)!);
  const figure = subject.files ? `${(subject.files / seconds).toFixed(0)} files/s (put + get)` : `${(bytes / 1e6 / seconds).toFixed(0)} MB/s`;
  console.log(`  ${subject.name.padEnd(66)} ${figure.padStart(24)}   ${seconds.toFixed(2)} s`);
}

await siteNc.close();
await dfkNc.close();
await dfkNcB.close();
await leaf.stop();
await leafB.stop();
await hub.stop();
rmSync(dir, { recursive: true, force: true });

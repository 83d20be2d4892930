// The object store transfers (src/staging/object-store.ts) against a real nats-server with
// JetStream on loopback: round trips from empty to several MB, interchange with @nats-io/obj's
// own reader and writer (the same format), a digest that does not match, a missing object, and
// NatsObjectStaging's refusals. Cuts between sites are in test/staging-nats-sites.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { NatsServer } from '../src/nats/server.ts';
import { copyObject, getFile, objectInfo, putFile, type ObjectEnd } from '../src/staging/object-store.ts';
import { File, NatsObjectStaging, StagingError } from '../src/index.ts';
import { inTaskProviderOf, inTaskSpecOf } from '../src/staging/in-task.ts';
import { tempDir } from './helpers.ts';

const work = tempDir('parsl-ts-objects-');
let server: NatsServer;
let nc: NatsConnection;
let end: ObjectEnd;

test.before(async () => {
  mkdirSync(join(work.path, 'js'));
  server = await NatsServer.start({ jetstream: true, dir: join(work.path, 'js') });
  nc = await connect({ servers: server.url });
  end = { js: jetstream(nc), jsm: await jetstreamManager(nc) };
});

test.after(async () => {
  await nc?.close();
  await server?.stop();
  work.remove();
});

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

test('objects - round trips from empty to 3 MB, chunked, read back whole and unchanged', async () => {
  for (const size of [0, 1, 128 * 1024, 128 * 1024 + 1, 3_000_001]) {
    const data = randomBytes(size);
    const source = join(work.path, `in-${size}`);
    writeFileSync(source, data);
    const digest = await putFile(end, 'rt', `dir/f-${size}`, source);
    const meta = await objectInfo(end, 'rt', `dir/f-${size}`);
    assert.is(meta?.size, size);
    assert.is(meta?.chunks, Math.ceil(size / (128 * 1024)));
    assert.is(meta?.digest, digest);
    const target = join(work.path, 'out', `f-${size}`);
    await getFile(end, 'rt', `dir/f-${size}`, target);
    assert.is(sha(readFileSync(target)), sha(data), `${size} bytes read back`);
  }
  assert.equal(readdirSync(join(work.path, 'out')).filter((n) => n.includes('.part-')), [], 'no temporary copy left');
});

test('objects - the object store format: @nats-io/obj reads what putFile wrote, getFile what it wrote; a new put replaces', async () => {
  const data = randomBytes(700_000);
  writeFileSync(join(work.path, 'x'), data);
  await putFile(end, 'fmt', 'x', join(work.path, 'x'), { chunkSize: 64 * 1024 });
  const os = await new Objm(end.js).open('fmt');
  assert.is(sha((await os.getBlob('x'))!), sha(data), '@nats-io/obj reads it (and checks its digest)');

  const theirs = randomBytes(500_000);
  await os.putBlob({ name: 'theirs' }, theirs);
  await getFile(end, 'fmt', 'theirs', join(work.path, 'theirs'));
  assert.is(sha(readFileSync(join(work.path, 'theirs'))), sha(theirs));

  const again = randomBytes(10);
  writeFileSync(join(work.path, 'x'), again);
  await putFile(end, 'fmt', 'x', join(work.path, 'x'));
  assert.is(sha((await os.getBlob('x'))!), sha(again), 'the new content replaced the old');
  const info = await end.jsm.streams.info('OBJ_fmt');
  assert.is(info.state.messages, 1 + 1 + 4 + 1, 'the old chunks were purged (x: 1 chunk + meta; theirs: 4 chunks + meta)');
});

test('objects - copyObject between two stores keeps the digest', async () => {
  const data = randomBytes(400_000);
  writeFileSync(join(work.path, 'c'), data);
  const digest = await putFile(end, 'from', 'c', join(work.path, 'c'));
  assert.is(await copyObject(end, end, 'from', 'c'), digest);
});

test('objects - a digest that does not match fails the get and leaves nothing behind', async () => {
  writeFileSync(join(work.path, 'd'), randomBytes(200_000));
  await putFile(end, 'bad', 'd', join(work.path, 'd'));
  const meta = (await objectInfo(end, 'bad', 'd'))!;
  // The meta rewritten with another digest, as a corrupted store would have it.
  const h = headers();
  h.set('Nats-Rollup', 'sub');
  const subject = (await end.jsm.streams.getMessage('OBJ_bad', { last_by_subj: `$O.bad.M.ZA==` }))!.subject;
  await end.js.publish(subject, JSON.stringify({ ...meta, digest: `SHA-256=${Buffer.alloc(32).toString('base64url')}=` }), { headers: h });
  const target = join(work.path, 'bad-out', 'd');
  const error = await getFile(end, 'bad', 'd', target).catch((e: Error) => e);
  assert.instance(error, Error);
  assert.match((error as Error).message, /checksum mismatch/);
  assert.not.ok(existsSync(target));
  assert.equal(readdirSync(join(work.path, 'bad-out')), [], 'the temporary copy was removed');
});

test('objects - a missing object or bucket is named', async () => {
  const missing = await getFile(end, 'rt', 'nope', join(work.path, 'n')).catch((e: Error) => e);
  assert.match(String(missing), /no object 'nope' in bucket 'rt'/);
  const noBucket = await getFile(end, 'nobucket', 'nope', join(work.path, 'n')).catch((e: Error) => e);
  assert.match(String(noBucket), /no object 'nope' in bucket 'nobucket'/);
});

test('objects - NatsObjectStaging: nats:// only, in the task, rebuilt in workers; refusals name the URL', async () => {
  const provider = new NatsObjectStaging({ chunkSize: 65536 });
  assert.ok(provider.canStageIn(new File('nats://run/a/b.csv')) && provider.canStageOut(new File('nats://run/a/b.csv')));
  assert.not.ok(provider.canStageIn(new File('https://example.org/x')));
  assert.ok(provider.inTask);
  const spec = inTaskSpecOf(provider, new File('nats://run/x'), 'out');
  assert.equal(spec, { name: 'NatsObjectStaging', chunkSize: 65536 });
  assert.instance(inTaskProviderOf(spec), NatsObjectStaging);

  const bad = await provider.stageIn(new File('nats://bad.bucket/x'), work.path).catch((e: Error) => e);
  assert.instance(bad, StagingError);
  assert.match((bad as Error).message, /nats:\/\/bad\.bucket\/x.*bucket of letters, digits/);
  // Outside a block (no block login in the environment) it says where it works.
  const outside = await provider.stageIn(new File('nats://run/x'), work.path).catch((e: Error) => e);
  assert.instance(outside, StagingError);
  assert.match((outside as Error).message, /workers of a HighThroughputExecutor's blocks.*PARSL_TS_NATS/);
});

test.run();

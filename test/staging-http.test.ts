import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { File } from '../src/staging/file.ts';
import { StagingError } from '../src/staging/errors.ts';
import { HTTPInTaskStaging, HTTPSeparateTaskStaging } from '../src/staging/http.ts';
import { downloadsInFlight } from '../src/staging/download.ts';
import { contentSha256, TestHttpServer } from './support/http-server.ts';

interface Ctx {
  server: TestHttpServer;
  dir: string;
}
const s = suite<Ctx>('staging over HTTP');
const http = new HTTPSeparateTaskStaging();

s.before(async (c) => {
  c.server = await TestHttpServer.start();
  c.dir = mkdtempSync(join(tmpdir(), 'parsl-ts-staging-http-'));
});
s.after(async (c) => {
  await c.server.stop();
  rmSync(c.dir, { recursive: true, force: true });
});
s.before.each((c) => {
  c.server.ranges = true;
  c.server.requests.length = 0;
});

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** No temporary `.NAME.part-…` file is left in `dir`. */
function assertNoPartials(dir: string): void {
  assert.equal(readdirSync(dir).filter((n) => n.includes('.part-')), []);
}

s('sizes from empty to 100 MB arrive whole, at workDir/filename, and set localPath', async (c) => {
  for (const size of [0, 1, 1000, 1 << 20, 100 * 1024 * 1024]) {
    const workDir = join(c.dir, `sizes-${size}`);
    const file = new File(c.server.url(`/data/${size}/blob-${size}.bin`));
    assert.ok(http.canStageIn(file));
    const path = await http.stageIn(file, workDir);
    assert.is(path, join(workDir, `blob-${size}.bin`));
    assert.is(file.filepath, path);
    assert.is(statSync(path).size, size);
    assert.is(sha256(path), contentSha256(size), `content of ${size} bytes`);
    assertNoPartials(workDir);
  }
});

s('a 404 fails with a StagingError naming the URL, at once, and leaves nothing', async (c) => {
  const workDir = join(c.dir, 'missing');
  const file = new File(c.server.url('/nowhere/x.txt'));
  const error = await http.stageIn(file, workDir).catch((e: unknown) => e);
  assert.instance(error, StagingError);
  assert.is((error as StagingError).url, file.url);
  assert.match((error as Error).message, file.url);
  assert.match((error as Error).message, 'HTTP 404');
  assert.is(c.server.requestsFor('/nowhere').length, 1, 'a 404 is not retried');
  assert.is(file.localPath, undefined);
  assertNoPartials(workDir);
  assert.equal(readdirSync(workDir), []);
});

s('a connection cut mid-body is resumed with Range from where it stopped', async (c) => {
  const size = 8 * 1024 * 1024;
  const cutAt = 3 * 1024 * 1024;
  const file = new File(c.server.url(`/data/${size}/cut.bin?cut=${cutAt}`));
  const path = await http.stageIn(file, join(c.dir, 'resume'));
  assert.is(sha256(path), contentSha256(size));
  const requests = c.server.requestsFor('/data/');
  assert.is(requests.length, 2, 'one cut request, one resumed');
  assert.is(requests[1]!.status, 206);
  const resumedFrom = Number(/^bytes=(\d+)-$/.exec(requests[1]!.range ?? '')?.[1]);
  assert.ok(resumedFrom > 0 && resumedFrom <= cutAt, `resumed from ${resumedFrom}`);
  assert.is(requests[0]!.bytesSent + requests[1]!.bytesSent - (cutAt - resumedFrom), size, 'bytes sent twice only between what the client had and the cut');
});

s('without Range support a cut download starts over and still arrives whole', async (c) => {
  c.server.ranges = false;
  const size = 4 * 1024 * 1024;
  const file = new File(c.server.url(`/data/${size}/norange.bin?cut=${1024 * 1024}`));
  const path = await http.stageIn(file, join(c.dir, 'norange'));
  assert.is(sha256(path), contentSha256(size));
  const requests = c.server.requestsFor('/data/');
  assert.is(requests.length, 2);
  assert.is(requests[1]!.status, 200);
  assertNoPartials(join(c.dir, 'norange'));
});

s('a body shorter than its Content-Length fails the stage after the retries, leaving nothing', async (c) => {
  const workDir = join(c.dir, 'short');
  const file = new File(c.server.url('/short/5000/short.bin'));
  const error = await http.stageIn(file, workDir).catch((e: unknown) => e);
  assert.instance(error, StagingError);
  assert.match((error as Error).message, /gave up after 4 tries, 4990 of 5000 bytes received/);
  assert.is(c.server.requestsFor('/short/').length, 4, 'the first try and 3 resumes');
  assert.equal(readdirSync(workDir), []);
});

s('a checksum in the URL fragment is checked: a match passes, a mismatch fails and leaves nothing', async (c) => {
  const good = new File(c.server.url(`/data/70000/good.bin#sha256=${contentSha256(70000)}`));
  const path = await http.stageIn(good, join(c.dir, 'sum'));
  assert.is(statSync(path).size, 70000);
  const bad = new File(c.server.url(`/data/70000/bad.bin#sha256=${'0'.repeat(64)}`));
  const error = await http.stageIn(bad, join(c.dir, 'sum')).catch((e: unknown) => e);
  assert.instance(error, StagingError);
  assert.match((error as Error).message, 'sha256 mismatch');
  assert.equal(readdirSync(join(c.dir, 'sum')), ['good.bin']);
});

s('concurrent stage-ins of one URL to one place fetch it once', async (c) => {
  const workDir = join(c.dir, 'once');
  const files = Array.from({ length: 20 }, () => new File(c.server.url('/data/300000/shared.bin')));
  const paths = await Promise.all(files.map((f) => http.stageIn(f, workDir)));
  assert.equal(new Set(paths).size, 1);
  assert.is(c.server.requestsFor('/data/300000/shared.bin').length, 1);
  assert.is(downloadsInFlight(), 0);
  for (const f of files) assert.is(f.filepath, paths[0]);
  // Another place is another copy.
  await new HTTPInTaskStaging().stageIn(new File(c.server.url('/data/300000/shared.bin')), join(c.dir, 'once-2'));
  assert.is(c.server.requestsFor('/data/300000/shared.bin').length, 2);
});

s('redirects are followed', async (c) => {
  const path = await http.stageIn(new File(c.server.url('/redirect/1234/moved.bin')), join(c.dir, 'redirect'));
  assert.is(sha256(path), contentSha256(1234));
});

s('an aborted stage-in rejects and leaves no partial file', async (c) => {
  const workDir = join(c.dir, 'abort');
  const abort = new AbortController();
  const file = new File(c.server.url(`/data/${50 * 1024 * 1024}/aborted.bin`));
  const error = await http
    .stageIn(file, workDir, { signal: abort.signal, onProgress: (bytes) => bytes > 1024 * 1024 && abort.abort(new Error('stop')) })
    .catch((e: unknown) => e);
  assert.instance(error, StagingError);
  assert.equal(readdirSync(workDir), []);
});

s.run();

// HTTPS stage-in against the test HTTP server with TLS, its self-signed certificate made by
// openssl here: trusted through the provider's `ca`, refused without it; in the driver and in
// a worker (in-task, where the CA travels with the file's staging spec).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  app,
  clear,
  Config,
  ConfigError,
  dfk,
  File,
  HTTPInTaskStaging,
  HTTPSeparateTaskStaging,
  load,
  NoOpFileStaging,
  StagingError,
  ThreadPoolExecutor,
} from '../src/index.ts';
import { deadline, rejection, tempDir } from './helpers.ts';
import { contentSha256, TestHttpServer } from './support/http-server.ts';

interface Ctx {
  server: TestHttpServer;
  ca: string;
}
const s = suite<Ctx>('staging over HTTPS');
const work = tempDir('parsl-ts-staging-https-');

s.before(async (c) => {
  const key = join(work.path, 'key.pem');
  const cert = join(work.path, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  c.ca = readFileSync(cert, 'utf8');
  c.server = await TestHttpServer.start({ tls: { key: readFileSync(key, 'utf8'), cert: c.ca } });
});
s.after(async (c) => {
  await c.server.stop();
  work.remove();
});
s.after.each(async () => {
  await clear();
});

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

s('https - a file arrives whole when the provider trusts the server certificate', async (c) => {
  const file = new File(c.server.url('/data/300000/tls.bin'));
  assert.is(file.scheme, 'https');
  const path = await deadline(new HTTPSeparateTaskStaging({ ca: c.ca }).stageIn(file, join(work.path, 'driver')), 30_000);
  assert.is(sha256(path), contentSha256(300_000));
});

s('https - an untrusted certificate fails the stage with a StagingError naming the URL', async (c) => {
  const url = c.server.url('/data/10/untrusted.bin');
  const error = await rejection(deadline(new HTTPSeparateTaskStaging().stageIn(new File(url), join(work.path, 'untrusted')), 30_000));
  assert.instance(error, StagingError);
  assert.is(error.url, url);
  assert.match(String(error.cause?.message ?? error.message), /self.signed|certificate/i);
});

s('https - ca must be PEM certificates', () => {
  const error = (() => {
    try {
      new HTTPSeparateTaskStaging({ ca: 'not a certificate' });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.instance(error, ConfigError);
  assert.match((error as Error).message, 'options.ca');
});

s('https - in-task staging in a thread worker uses the CA given in the driver', async (c) => {
  load(
    new Config({
      executors: [new ThreadPoolExecutor({ maxThreads: 1, storageAccess: [new NoOpFileStaging(), new HTTPInTaskStaging({ ca: c.ca })] })],
      runDir: work.path,
    }),
  );
  const hashOf = app((o: { inputs: File[] }) => createHash('sha256').update(readFileSync(o.inputs[0]!.filepath)).digest('hex'));
  assert.is(await deadline(hashOf({ inputs: [new File(c.server.url('/data/4096/in-worker.bin'))] }), 60_000), contentSha256(4096));
  assert.equal(dfk().taskStateCounts, { exec_done: 1 }, 'staged in the task');
});

s.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chooseStagingProvider,
  defaultStorageAccess,
  File,
  FTPSeparateTaskStaging,
  HTTPInTaskStaging,
  HTTPSeparateTaskStaging,
  NoOpFileStaging,
  SFTPStaging,
  StagingError,
  stageIn,
  stageOut,
  ZipFileStaging,
} from '../src/index.ts';
import { deserializeError, serializeError } from '../src/common/errors.ts';
import { content, TestHttpServer } from './support/http-server.ts';

test('the default storageAccess is Parsl\'s (no-op, FTP, HTTP in separate tasks) plus zip', () => {
  const names = defaultStorageAccess().map((p) => p.name);
  assert.equal(names, ['NoOpFileStaging', 'FTPSeparateTaskStaging', 'HTTPSeparateTaskStaging', 'ZipFileStaging']);
  assert.instance(chooseStagingProvider(new File('data.txt'), 'in'), NoOpFileStaging);
  assert.instance(chooseStagingProvider(new File('file:///abs/x'), 'out'), NoOpFileStaging);
  assert.instance(chooseStagingProvider(new File('https://example.org/x'), 'in'), HTTPSeparateTaskStaging);
  assert.instance(chooseStagingProvider(new File('ftp://example.org/x'), 'in'), FTPSeparateTaskStaging);
  assert.instance(chooseStagingProvider(new File('zip:/a/b.zip/x'), 'out'), ZipFileStaging);
  assert.not.ok(chooseStagingProvider(new File('https://example.org/x'), 'in').inTask, 'separate tasks by default');
});

test('the first provider that can stage a file wins', () => {
  const storageAccess = [new HTTPInTaskStaging(), new HTTPSeparateTaskStaging()];
  const chosen = chooseStagingProvider(new File('http://example.org/x'), 'in', storageAccess);
  assert.is(chosen, storageAccess[0]);
  assert.ok(chosen.inTask);
});

test('a file no provider can stage fails with a StagingError naming the URL and the providers tried', () => {
  const file = new File('sftp://example.org/data/x.csv');
  let error: unknown;
  try {
    chooseStagingProvider(file, 'in');
  } catch (e) {
    error = e;
  }
  assert.instance(error, StagingError);
  const staging = error as StagingError;
  assert.is(staging.url, 'sftp://example.org/data/x.csv');
  assert.equal(staging.providersTried, ['NoOpFileStaging', 'FTPSeparateTaskStaging', 'HTTPSeparateTaskStaging', 'ZipFileStaging']);
  assert.match(staging.message, 'staging in sftp://example.org/data/x.csv failed');
  assert.match(staging.message, 'tried NoOpFileStaging, FTPSeparateTaskStaging, HTTPSeparateTaskStaging, ZipFileStaging');
  // HTTP stages in only.
  assert.throws(() => chooseStagingProvider(new File('http://example.org/out.txt'), 'out'), /staging out http:\/\/example.org\/out.txt failed: no staging provider/);
  // An SFTP provider without a channel to that host cannot stage it either.
  assert.throws(() => chooseStagingProvider(file, 'in', [new SFTPStaging({ channels: [] })]), /tried SFTPStaging/);
  assert.throws(() => chooseStagingProvider(new File('x.txt'), 'in', []), /none \(storageAccess is empty\)/);
});

test('a StagingError crosses a thread boundary as itself, with its URL and providers', () => {
  const error = new StagingError('http://h/x', 'in', 'HTTP 404', { providersTried: ['A', 'B'], cause: new Error('socket') });
  const back = deserializeError(structuredClone(serializeError(error)));
  assert.instance(back, StagingError);
  assert.is((back as StagingError).url, 'http://h/x');
  assert.equal((back as StagingError).providersTried, ['A', 'B']);
  assert.is((back.cause as Error).message, 'socket');
});

test('stageIn/stageOut with the default list: HTTP in, local files left where they are', async () => {
  const server = await TestHttpServer.start();
  const dir = mkdtempSync(join(tmpdir(), 'parsl-ts-staging-chooser-'));
  try {
    const remote = new File(server.url('/data/1000/in.bin'));
    const path = await stageIn(remote, dir);
    assert.ok(readFileSync(path).equals(content(0, 1000)));
    const local = new File('relative/out.txt');
    assert.is(await stageIn(local, dir), 'relative/out.txt');
    assert.is(local.localPath, undefined, 'a local file is not moved');
    await stageOut(local, dir);
    await stageOut(new File('file:///tmp/x'), dir);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();

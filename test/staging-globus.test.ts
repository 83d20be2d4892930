/**
 * The Globus client against a local stand-in for the Transfer API (test/support/globus-transfer-server.ts):
 * Globus cannot be reached from the test machines.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { File } from '../src/staging/file.ts';
import { StagingError } from '../src/staging/errors.ts';
import { GlobusStaging } from '../src/staging/globus.ts';
import { FakeGlobusTransfer } from './support/globus-transfer-server.ts';

const REMOTE = 'ddb59aef-6d04-11e5-ba46-22000b92c6ec';
const LOCAL = '5a1b0c2d-0000-4000-8000-000000000001';

interface Ctx {
  api: FakeGlobusTransfer;
  dir: string;
  remoteRoot: string;
  globus: GlobusStaging;
}
const s = suite<Ctx>('staging through the Globus Transfer API (local stand-in)');

s.before(async (c) => {
  c.dir = mkdtempSync(join(tmpdir(), 'parsl-ts-staging-globus-'));
  c.remoteRoot = join(c.dir, 'remote-endpoint');
  mkdirSync(join(c.remoteRoot, 'data'), { recursive: true });
  writeFileSync(join(c.remoteRoot, 'data', 'input.txt'), 'globus input\n');
  const localRoot = join(c.dir, 'local-endpoint');
  mkdirSync(localRoot);
  // The local endpoint shows localRoot as its '/'.
  c.api = await FakeGlobusTransfer.start({ [REMOTE]: c.remoteRoot, [LOCAL]: localRoot });
  c.globus = new GlobusStaging({ token: c.api.token, endpointUuid: LOCAL, localPath: localRoot, endpointPath: '/', baseUrl: c.api.baseUrl, pollIntervalMs: 5 });
});
s.after(async (c) => {
  await c.api.stop();
  rmSync(c.dir, { recursive: true, force: true });
});
s.before.each((c) => {
  c.api.calls.length = 0;
});

s('stage-in: submission_id, transfer to a landing name, task polled to SUCCEEDED, then renamed', async (c) => {
  const workDir = join(c.dir, 'local-endpoint', 'run', 'task-1');
  const file = new File(`globus://${REMOTE}/data/input.txt`);
  assert.ok(c.globus.canStageIn(file));
  const path = await c.globus.stageIn(file, workDir);
  assert.is(path, join(workDir, 'input.txt'));
  assert.is(readFileSync(path, 'utf8'), 'globus input\n');
  assert.equal(readdirSync(workDir), ['input.txt']);
  assert.equal(c.api.calls.slice(0, 2), ['GET /submission_id', 'POST /transfer']);
  assert.ok(c.api.calls.filter((call) => call.startsWith('GET /task/')).length >= 2, 'polled until done');
});

s('stage-out sends the app output from the local endpoint to the URL', async (c) => {
  const workDir = join(c.dir, 'local-endpoint', 'run', 'task-2');
  mkdirSync(workDir, { recursive: true });
  writeFileSync(join(workDir, 'result.txt'), 'result\n');
  await c.globus.stageOut(new File(`globus://${REMOTE}/results/result.txt`), workDir);
  assert.is(readFileSync(join(c.remoteRoot, 'results', 'result.txt'), 'utf8'), 'result\n');
});

s('an answer lost after submission is resubmitted with the same submission_id: one task', async (c) => {
  c.api.loseNextTransferAnswer = true;
  const before = c.api.tasks.size;
  const path = await c.globus.stageIn(new File(`globus://${REMOTE}/data/input.txt`), join(c.dir, 'local-endpoint', 'run', 'task-3'));
  assert.is(readFileSync(path, 'utf8'), 'globus input\n');
  assert.is(c.api.tasks.size, before + 1);
  assert.is(c.api.calls.filter((call) => call === 'POST /transfer').length, 2);
});

s('a missing source: the task reports FILE_NOT_FOUND, is cancelled, and the stage fails naming the URL', async (c) => {
  const workDir = join(c.dir, 'local-endpoint', 'run', 'task-4');
  const file = new File(`globus://${REMOTE}/data/nope.txt`);
  const error = await c.globus.stageIn(file, workDir).catch((e: unknown) => e);
  assert.instance(error, StagingError);
  assert.match((error as Error).message, file.url);
  assert.match((error as Error).message, 'FILE_NOT_FOUND');
  assert.ok(c.api.calls.some((call) => /^POST \/task\/.+\/cancel$/.test(call)));
  assert.equal(readdirSync(workDir), []);
});

s('a bad token fails with the API error', async (c) => {
  const globus = new GlobusStaging({ token: 'expired', endpointUuid: LOCAL, localPath: join(c.dir, 'local-endpoint'), endpointPath: '/', baseUrl: c.api.baseUrl });
  const error = await globus.stageIn(new File(`globus://${REMOTE}/data/input.txt`), join(c.dir, 'local-endpoint', 'x')).catch((e: unknown) => e);
  assert.instance(error, StagingError);
  assert.match((error as Error).message, '401 AuthenticationFailed');
});

s('a working directory outside what the local endpoint sees is refused', async (c) => {
  const error = await c.globus.stageIn(new File(`globus://${REMOTE}/data/input.txt`), join(c.dir, 'elsewhere')).catch((e: unknown) => e);
  assert.instance(error, StagingError);
  assert.match((error as Error).message, 'outside');
});

s.run();

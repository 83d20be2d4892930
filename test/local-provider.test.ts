/**
 * LocalProvider live: blocks are real background processes on this machine, started through a
 * LocalChannel; nothing is faked.
 */
import { rejects } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/common/errors.ts';
import { LocalChannel } from '../src/providers/channels/local.ts';
import { LocalProvider, type LocalProviderOptions } from '../src/providers/local.ts';
import { TERMINAL_JOB_STATES } from '../src/providers/provider.ts';
import { deadline, tempDir, processAlive } from './helpers.ts';
import { waitUntil, watchJob } from './support/slurm.ts';

const dir = tempDir('parsl-ts-local-provider-');
const provider = (extra: LocalProviderOptions = {}) =>
  new LocalProvider({ channel: new LocalChannel({ scriptDir: join(dir.path, 'scripts') }), maxBlocks: 10, ...extra });
const terminal = (state: string) => TERMINAL_JOB_STATES.has(state as never);

/** Whether a process exists (and is not a zombie). */

test('local provider - a block runs its command, completes with exit code 0, and its stdout is kept', async () => {
  await deadline(
    (async () => {
      const p = provider({ workerInit: 'export GREETING=hello' });
      const out = join(dir.path, 'written.txt');
      const jobId = await p.submit(`echo "$GREETING" > ${out}; echo "to stdout"`, 1, 'write');
      assert.match(jobId, /^\d+$/);
      const { last } = await watchJob(p, jobId, terminal);
      assert.is(last.state, 'completed');
      assert.is(last.exitCode, 0);
      assert.is(readFileSync(out, 'utf8'), 'hello\n');
      const [status] = await p.status([jobId]);
      assert.is(readFileSync(status!.stdoutPath!, 'utf8'), 'to stdout\n');
    })(),
  );
});

test('local provider - a failing block reports its exit code', async () => {
  await deadline(
    (async () => {
      const p = provider();
      const jobId = await p.submit('echo oops >&2; exit 7', 1, 'fail');
      const { last } = await watchJob(p, jobId, terminal);
      assert.is(last.state, 'failed');
      assert.is(last.exitCode, 7);
      const [status] = await p.status([jobId]);
      assert.is(readFileSync(status!.stderrPath!, 'utf8'), 'oops\n');
    })(),
  );
});

test('local provider - status of several blocks, in the order asked, with unknown ids', async () => {
  await deadline(
    (async () => {
      const p = provider();
      const ok = await p.submit('true', 1, 'ok');
      const bad = await p.submit('exit 2', 1, 'bad');
      const long = await p.submit('sleep 300', 1, 'long');
      await watchJob(p, ok, terminal);
      await watchJob(p, bad, terminal);
      const statuses = await p.status([long, 'nope', bad, ok]);
      assert.equal(
        statuses.map((s) => [s.jobId, s.state, s.exitCode]),
        [
          [long, 'running', undefined],
          ['nope', 'unknown', undefined],
          [bad, 'failed', 2],
          [ok, 'completed', 0],
        ],
      );
      assert.match(statuses[1]!.message!, /not known to LocalProvider/);
      assert.equal(await p.cancel([long]), [true]);
    })(),
  );
});

test('local provider - cancel kills the whole process group', async () => {
  await deadline(
    (async () => {
      const p = provider();
      const pidFile = join(dir.path, 'child.pid');
      // The block starts a grandchild and waits: cancel must reach it too.
      const jobId = await p.submit(`sleep 300 & echo $! > ${pidFile}; wait`, 1, 'cancel-me');
      await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 20_000, 'the block did not start');
      const grandchild = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(processAlive(grandchild));
      assert.equal(await p.cancel([jobId]), [true]);
      const [status] = await p.status([jobId]);
      assert.is(status!.state, 'cancelled');
      await waitUntil(() => !processAlive(grandchild) && !processAlive(Number(jobId)), 20_000, 'processes of the cancelled block are still alive');
      // Cancelling again: the job has ended, so nothing is cancelled.
      assert.equal(await p.cancel([jobId, 'nope']), [false, false]);
    })(),
  );
});

test('local provider - a block killed from outside is failed, without an exit code', async () => {
  await deadline(
    (async () => {
      const p = provider();
      const jobId = await p.submit('sleep 300', 1, 'killed');
      await watchJob(p, jobId, (s) => s === 'running');
      process.kill(-Number(jobId), 'SIGKILL');
      const { last } = await watchJob(p, jobId, terminal);
      assert.is(last.state, 'failed');
      assert.is(last.exitCode, undefined);
      assert.match(last.message!, /without recording an exit code/);
    })(),
  );
});

test('local provider - a killed block whose pid another process took is failed, and cancel leaves that process alone', async () => {
  await deadline(
    (async () => {
      const p = provider();
      const jobId = await p.submit('sleep 300', 1, 'pid-reused');
      await watchJob(p, jobId, (s) => s === 'running');
      process.kill(-Number(jobId), 'SIGKILL');
      await waitUntil(() => !processAlive(Number(jobId)), 20_000, 'the block did not die');
      // Pids are reused (every 32,768 here): put the state that follows into the record, a live
      // process (a group leader, as a job is) under the dead job's pid.
      const stranger = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
      try {
        (p as unknown as { jobs: Map<string, { pid: number }> }).jobs.get(jobId)!.pid = stranger.pid!;
        assert.equal(await p.cancel([jobId]), [false]);
        const [status] = await p.status([jobId]);
        assert.is(status!.state, 'failed');
        assert.match(status!.message!, /without recording an exit code/);
        assert.ok(processAlive(stranger.pid!), 'cancel signalled the process that took the pid');
      } finally {
        stranger.kill('SIGKILL');
      }
    })(),
  );
});

test('local provider - walltime ends a block in state timeout', async () => {
  await deadline(
    (async () => {
      const p = provider({ walltime: '1s' });
      const jobId = await p.submit('sleep 300', 1, 'walltime');
      const { last } = await watchJob(p, jobId, terminal);
      assert.is(last.state, 'timeout');
      await waitUntil(() => !processAlive(Number(jobId)), 20_000, 'the timed-out block is still alive');
    })(),
  );
});

test('local provider - tasksPerNode copies run through the SingleNodeLauncher, with env from submit', async () => {
  await deadline(
    (async () => {
      const p = provider();
      const out = join(dir.path, 'copies.txt');
      const jobId = await p.submit(`echo "$BLOCK_TAG $1" >> ${out}`, 3, 'copies', { env: { BLOCK_TAG: "it's me" } });
      const { last } = await watchJob(p, jobId, terminal);
      assert.is(last.state, 'completed');
      const lines = readFileSync(out, 'utf8').trim().split('\n').sort();
      assert.equal(lines, ["it's me 1", "it's me 2", "it's me 3"]);
    })(),
  );
});

test('local provider - bad submit arguments reject with ConfigError', async () => {
  const p = provider();
  await rejects(p.submit('true', 0, 'zero'), (e: unknown) => e instanceof ConfigError && /LocalProvider\.submit\(tasksPerNode\): expected a positive integer; got 0/.test((e as Error).message));
  await rejects(p.submit('true', 1, 'env', { env: { 'BAD-NAME': 'x' } }), (e: unknown) => e instanceof ConfigError && /"BAD-NAME" is not a valid environment variable name/.test((e as Error).message));
});

test.after(() => dir.remove());

test.run();

/**
 * GridEngineProvider against a real Grid Engine cell (sge_qmaster + sge_execd on this host,
 * configured and started by test/support/gridengine.ts). Needs the Debian gridengine packages
 * installed with a preseeded debconf (see GRIDENGINE_INSTALL_HINT) and root.
 */
import { rejects } from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SubmitError } from '../src/providers/errors.ts';
import { GridEngineProvider } from '../src/providers/gridengine.ts';
import { TERMINAL_JOB_STATES } from '../src/providers/provider.ts';
import { deadline, tempDir } from './helpers.ts';
import { GridEngine, waitUntil, watchJob } from './support/gridengine.ts';

interface Ctx {
  ge?: GridEngine;
  work?: { path: string; remove: () => void };
}

const test = suite<Ctx>('gridengine');

test.before(async (ctx) => {
  ctx.ge = await deadline(GridEngine.start(), 150_000, 'starting Grid Engine');
  ctx.work = tempDir('parsl-ts-ge-work-');
});

test.after(async (ctx) => {
  await ctx.ge?.stop();
  ctx.work?.remove();
});

function provider(ctx: Ctx, extra: Partial<ConstructorParameters<typeof GridEngineProvider>[0]> = {}): GridEngineProvider {
  return new GridEngineProvider({ channel: ctx.ge!.channel(), queue: ctx.ge!.queue, walltime: '00:05:00', ...extra });
}

const name = (ctx: Ctx, what: string) => `${ctx.ge!.jobPrefix}-${what}`;
const terminal = (state: string) => TERMINAL_JOB_STATES.has(state as never);

test('gridengine - a submitted job runs its command and completes', async (ctx) => {
  await deadline(
    (async () => {
      const p = provider(ctx, { workerInit: 'export PARSL_TEST_GREETING=hello' });
      const out = join(ctx.work!.path, 'written.txt');
      const jobId = await p.submit(`echo "$PARSL_TEST_GREETING from $JOB_ID" > ${out}`, 1, name(ctx, 'write'));
      assert.match(jobId, /^\d+$/);
      const [first] = await p.status([jobId]);
      assert.ok(['pending', 'running', 'completed'].includes(first!.state), `first state ${first!.state}`);
      const { seen, last } = await watchJob(p, jobId, terminal, 90_000);
      assert.is(last.state, 'completed', `states seen: ${seen.join(' → ')}; ${last.message ?? ''}`);
      assert.is(last.exitCode, 0);
      assert.ok(existsSync(out), 'the job wrote its file');
      assert.is(readFileSync(out, 'utf8').trim(), `hello from ${jobId}`);
    })(),
    120_000,
  );
});

test('gridengine - status of several jobs: completed, failed with its exit code (from qacct), running', async (ctx) => {
  await deadline(
    (async () => {
      const p = provider(ctx);
      const ok = await p.submit('true', 1, name(ctx, 'ok'));
      const bad = await p.submit('exit 3', 1, name(ctx, 'bad'));
      const long = await p.submit('sleep 300', 1, name(ctx, 'long'));
      await watchJob(p, ok, terminal, 90_000);
      await watchJob(p, bad, terminal, 90_000);
      await watchJob(p, long, (s) => s === 'running', 90_000);
      const statuses = await p.status([ok, bad, long, '999999']);
      assert.equal(
        statuses.map((s) => [s.jobId, s.state]),
        [
          [ok, 'completed'],
          [bad, 'failed'],
          [long, 'running'],
          ['999999', 'unknown'],
        ],
      );
      assert.is(statuses[0]!.exitCode, 0);
      assert.is(statuses[1]!.exitCode, 3);
      assert.equal(await p.cancel([long]), [true]);
    })(),
    180_000,
  );
});

test('gridengine - cancel a running job', async (ctx) => {
  await deadline(
    (async () => {
      const p = provider(ctx);
      const jobId = await p.submit('sleep 300', 1, name(ctx, 'cancel'));
      await watchJob(p, jobId, (s) => s === 'running', 90_000);
      assert.equal(await p.cancel([jobId]), [true]);
      const [after] = await p.status([jobId]);
      assert.is(after!.state, 'cancelled');
      // While qdel is under way qstat shows 'dr' (mapped to cancelled). Once the job has left
      // qstat, only the accounting file knows it, and it does not tell qdel from other kills:
      // a provider that did not cancel the job itself sees it killed by signal 9 (exit 137, "failed 100").
      await waitUntil(() => !new RegExp(`^\\s*${jobId}\\s`, 'm').test(ctx.ge!.run('qstat', []).stdout), 60_000, `job ${jobId} still in qstat`, 200);
      const fresh = provider(ctx);
      const { last } = await watchJob(fresh, jobId, terminal, 90_000);
      assert.is(last.state, 'failed');
      assert.is(last.exitCode, 137);
      assert.match(last.message ?? '', /^failed 100/);
      assert.equal(await p.cancel([jobId]), [false]);
    })(),
    150_000,
  );
});

test('gridengine - qsub refusing the job (unknown queue) gives SubmitError with its stderr', async (ctx) => {
  await deadline(
    (async () => {
      const p = provider(ctx, { queue: 'no-such-queue' });
      await rejects(p.submit('true', 1, name(ctx, 'bad-queue')), (error: unknown) => {
        assert.instance(error, SubmitError);
        const e = error as SubmitError;
        assert.is(e.exitCode, 1);
        assert.match(e.command, /^qsub -terse /);
        assert.match(e.stderr, /unknown queue "no-such-queue"/);
        assert.match(e.message, /^Cannot submit job 'ptsge-bad-queue\.[^']+': qsub exited with code 1; stderr: /);
        return true;
      });
    })(),
    30_000,
  );
});

test.run();

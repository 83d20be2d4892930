/**
 * SlurmProvider against a real single-node Slurm (slurmctld + slurmd started by
 * test/support/slurm.ts on free ports). Needs `apt-get install slurm-wlm munge`, and root to
 * start munged if it is not running.
 */
import { rejects } from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SubmitError } from '../src/providers/errors.ts';
import { TERMINAL_JOB_STATES } from '../src/providers/provider.ts';
import { SrunLauncher } from '../src/providers/launchers/index.ts';
import { SlurmProvider } from '../src/providers/slurm.ts';
import { deadline, tempDir } from './helpers.ts';
import { SlurmCluster, watchJob } from './support/slurm.ts';

interface Ctx {
  slurm?: SlurmCluster;
  work?: { path: string; remove: () => void };
}

const test = suite<Ctx>('slurm');

test.before(async (ctx) => {
  ctx.slurm = await deadline(SlurmCluster.start(), 90_000, 'starting Slurm');
  ctx.work = tempDir('parsl-ts-slurm-work-');
});

test.after(async (ctx) => {
  await ctx.slurm?.stop();
  ctx.work?.remove();
});

function provider(ctx: Ctx, extra: Partial<ConstructorParameters<typeof SlurmProvider>[0]> = {}): SlurmProvider {
  // Not exclusive: the single node has few cores and several tests' jobs share it.
  return new SlurmProvider({ channel: ctx.slurm!.channel(), partition: ctx.slurm!.partition, exclusive: false, walltime: '00:05:00', ...extra });
}

const terminal = (state: string) => TERMINAL_JOB_STATES.has(state as never);

test('slurm - a submitted job runs its command and completes', async (ctx) => {
  await deadline(
    (async () => {
      const p = provider(ctx, { workerInit: 'export PARSL_TEST_GREETING=hello' });
      const out = join(ctx.work!.path, 'written.txt');
      const jobId = await p.submit(`echo "$PARSL_TEST_GREETING from $SLURM_JOB_ID" > ${out}`, 1, 'write-file');
      assert.match(jobId, /^\d+$/);
      const [first] = await p.status([jobId]);
      assert.ok(['pending', 'running', 'completed'].includes(first!.state), `first state ${first!.state}`);
      const { seen, last } = await watchJob(p, jobId, terminal);
      assert.is(last.state, 'completed', `states seen: ${seen.join(' → ')}; ${last.message ?? ''}`);
      assert.is(last.exitCode, 0);
      assert.ok(existsSync(out), 'the job wrote its file');
      assert.is(readFileSync(out, 'utf8').trim(), `hello from ${jobId}`);
    })(),
    90_000,
  );
});

test('slurm - status of several jobs: completed, failed with its exit code, running', async (ctx) => {
  await deadline(
    (async () => {
      const p = provider(ctx);
      const ok = await p.submit('true', 1, 'ok');
      const bad = await p.submit('exit 3', 1, 'bad');
      const long = await p.submit('sleep 300', 1, 'long');
      await watchJob(p, ok, terminal);
      await watchJob(p, bad, terminal);
      await watchJob(p, long, (s) => s === 'running');
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
      assert.match(statuses[1]!.message ?? '', /NonZeroExitCode/);
      assert.equal(await p.cancel([long]), [true]);
    })(),
    120_000,
  );
});

test('slurm - cancel a running job; Slurm itself then reports it cancelled', async (ctx) => {
  await deadline(
    (async () => {
      const p = provider(ctx);
      const jobId = await p.submit('sleep 300', 1, 'to-cancel');
      await watchJob(p, jobId, (s) => s === 'running');
      assert.equal(await p.cancel([jobId]), [true]);
      const [after] = await p.status([jobId]);
      assert.is(after!.state, 'cancelled');
      // A provider with no memory of the job asks squeue/scontrol and maps CANCELLED.
      const fresh = provider(ctx);
      const { last } = await watchJob(fresh, jobId, terminal);
      assert.is(last.state, 'cancelled');
      // Cancelling a job that has ended is refused.
      assert.equal(await p.cancel([jobId]), [false]);
    })(),
    90_000,
  );
});

test('slurm - sbatch refusing the job (bad partition) gives SubmitError with its stderr', async (ctx) => {
  await deadline(
    (async () => {
      const p = provider(ctx, { partition: 'no-such-partition' });
      await rejects(p.submit('true', 1, 'bad-partition'), (error: unknown) => {
        assert.instance(error, SubmitError);
        const e = error as SubmitError;
        assert.is(e.name, 'SubmitError');
        assert.is(e.exitCode, 1);
        assert.match(e.command, /^sbatch --parsable /);
        assert.match(e.stderr, /invalid partition/i);
        assert.match(e.message, /^Cannot submit job 'bad-partition\.[^']+': sbatch exited with code 1; stderr: sbatch: error: invalid partition/);
        return true;
      });
    })(),
    30_000,
  );
});

test('slurm - SrunLauncher starts tasksPerNode copies through srun inside the allocation', async (ctx) => {
  await deadline(
    (async () => {
      const p = provider(ctx, { launcher: new SrunLauncher() });
      const out = join(ctx.work!.path, 'srun-copies.txt');
      const jobId = await p.submit(`echo "task $SLURM_PROCID of $SLURM_NTASKS in job $SLURM_JOB_ID" >> ${out}`, 2, 'srun');
      const { last } = await watchJob(p, jobId, terminal);
      assert.is(last.state, 'completed', last.message);
      const lines = readFileSync(out, 'utf8').trim().split('\n').sort();
      assert.equal(lines, [`task 0 of 2 in job ${jobId}`, `task 1 of 2 in job ${jobId}`]);
    })(),
    90_000,
  );
});

test('slurm - the submit script carries the options', async (ctx) => {
  await deadline(
    (async () => {
      const p = provider(ctx, { schedulerOptions: '#SBATCH --comment=parsl-ts-test' });
      const jobId = await p.submit('true', 1, 'comment');
      const out = await ctx.slurm!.channel().exec(`scontrol show job ${jobId}`);
      assert.match(out.stdout, /Comment=parsl-ts-test/);
      assert.match(out.stdout, /Partition=debug/);
      assert.match(out.stdout, /TimeLimit=00:05:00/);
      await watchJob(p, jobId, terminal);
    })(),
    60_000,
  );
});

test.run();

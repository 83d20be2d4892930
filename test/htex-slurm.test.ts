/**
 * HighThroughputExecutor + SlurmProvider against a real single-node Slurm (slurmctld + slurmd
 * started by test/support/slurm.ts on free ports): blocks are sbatch jobs whose block managers
 * connect back over NATS. Locally, and through SSHChannel to a real sshd on loopback.
 */
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { app, clear, Config, dfk, HighThroughputExecutor, load, SlurmProvider } from '../src/index.ts';
import type { Channel, ExecOptions, ExecResult } from '../src/index.ts';
import { htexManager } from '../src/internal.ts';
import { deadline, tempDir, waitFor } from './helpers.ts';
import { SlurmCluster } from './support/slurm.ts';
import { Sshd } from './support/sshd.ts';

interface Ctx {
  slurm?: SlurmCluster;
  sshd?: Sshd;
  work?: { path: string; remove: () => void };
}

const test = suite<Ctx>('htex-slurm');

test.before(async (ctx) => {
  ctx.slurm = await deadline(SlurmCluster.start(), 90_000, 'starting Slurm');
  ctx.work = tempDir('parsl-ts-htex-slurm-');
});

test.after.each(async () => {
  await clear();
});

test.after(async (ctx) => {
  await ctx.slurm?.stop();
  await ctx.sshd?.stop();
  ctx.work?.remove();
});

const nap = app(async (x: number) => {
  await new Promise((resolve) => setTimeout(resolve, 400));
  return x * 10;
});


/** Job ids in squeue, as the scheduler sees them. */
function squeue(ctx: Ctx): string[] {
  const out = spawnSync('squeue', ['-h', '-o', '%i %j'], { env: { ...process.env, ...ctx.slurm!.env }, encoding: 'utf8' });
  return out.stdout
    .split('\n')
    .filter((line) => line.includes('parsl-ts-'))
    .map((line) => line.split(' ')[0]!);
}

function slurmHtex(ctx: Ctx, channel: Channel, extra: Partial<ConstructorParameters<typeof SlurmProvider>[0]> = {}): HighThroughputExecutor {
  return new HighThroughputExecutor({
    provider: new SlurmProvider({
      channel,
      partition: ctx.slurm!.partition,
      exclusive: false,
      walltime: '00:10:00',
      initBlocks: 0,
      minBlocks: 0,
      maxBlocks: 2,
      ...extra,
    }),
    maxWorkersPerNode: 1,
    heartbeatPeriod: 300,
    heartbeatThreshold: 5_000,
    drainPeriod: 1_000,
  });
}

test('slurm - blocks are sbatch jobs: scales out to maxBlocks under load, in when idle', async (ctx) => {
  load(new Config({ executors: [slurmHtex(ctx, ctx.slurm!.channel())], strategyPeriod: 300, maxIdleTime: 2_000 }));
  const manager = htexManager(dfk(), 'htex');
  const futures = Array.from({ length: 24 }, (_, i) => nap(i));
  await deadline(waitFor(() => manager.blocks().filter((b) => b.pid !== undefined).length === 2, 'two registered blocks'));
  assert.is(squeue(ctx).length, 2, 'two block jobs in squeue');
  assert.equal(await deadline(Promise.all(futures), 120_000), Array.from({ length: 24 }, (_, i) => i * 10));
  assert.is(manager.blocks().length, 2, 'never more than maxBlocks');
  await deadline(waitFor(() => squeue(ctx).length === 0, 'the idle blocks to leave squeue'), 60_000);
  assert.is(manager.liveBlocks, 0);
});

test('slurm - an scancelled block is noticed and its tasks are retried', async (ctx) => {
  load(new Config({ executors: [slurmHtex(ctx, ctx.slurm!.channel(), { initBlocks: 2, minBlocks: 0 })], retries: 2, strategy: 'none' }));
  const manager = htexManager(dfk(), 'htex');
  const futures = Array.from({ length: 30 }, (_, i) => nap(i));
  let done = 0;
  for (const f of futures) f.then(() => done++, () => {});
  await deadline(waitFor(() => done >= 4 && squeue(ctx).length === 2, 'work under way on two blocks'));
  const victim = squeue(ctx)[0]!;
  spawnSync('scancel', [victim], { env: { ...process.env, ...ctx.slurm!.env } });
  assert.equal(await deadline(Promise.all(futures), 120_000), Array.from({ length: 30 }, (_, i) => i * 10));
  await deadline(waitFor(() => manager.blocks().some((b) => !b.live), 'the cancelled block declared lost'));
});

test('slurm - the same run through SSHChannel to the login node', async (ctx) => {
  ctx.sshd = await Sshd.start();
  const ssh = ctx.sshd.channel(ctx.work!.path, { scriptDir: join(ctx.work!.path, 'ssh-scripts') });
  await ssh.makeDirs(join(ctx.work!.path, 'ssh-scripts'));
  // The login node's shell profile would set SLURM_CONF; here each command gets it.
  const login = withEnv(ssh, ctx.slurm!.env);
  try {
    load(new Config({ executors: [slurmHtex(ctx, login, { initBlocks: 1, maxBlocks: 1 })], strategy: 'none' }));
    const results = await deadline(Promise.all(Array.from({ length: 10 }, (_, i) => nap(i))), 120_000);
    assert.equal(results, Array.from({ length: 10 }, (_, i) => i * 10));
    assert.ok(htexManager(dfk(), 'htex').blocks()[0]!.pid !== undefined, 'the block registered');
    await clear();
    await deadline(waitFor(() => squeue(ctx).length === 0, 'the block cancelled through SSH at clear()'), 60_000);
  } finally {
    await ssh.close();
  }
});

/** A channel that adds environment variables to every command. */
function withEnv(inner: Channel, env: Record<string, string>): Channel {
  return {
    scriptDir: inner.scriptDir,
    description: inner.description,
    exec: (command: string, options: ExecOptions = {}): Promise<ExecResult> => inner.exec(command, { ...options, env: { ...env, ...options.env } }),
    push: (l, r) => inner.push(l, r),
    pull: (r, l) => inner.pull(r, l),
    makeDirs: (p) => inner.makeDirs(p),
    writeFile: (p, c, m) => inner.writeFile(p, c, m),
    close: () => inner.close(),
  };
}

test.run();

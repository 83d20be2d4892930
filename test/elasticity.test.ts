// Scaling of HighThroughputExecutor blocks by the simple strategy, with real block processes
// from a LocalProvider (test/htex-slurm.test.ts does the same on a live Slurm).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { app, BlockStartError, clear, Config, dfk, HighThroughputExecutor, load, LocalProvider } from '../src/index.ts';
import { htexManager } from '../src/internal.ts';
import { deadline, rejection, waitFor, processAlive } from './helpers.ts';



test.after.each(async () => {
  await clear();
});

const nap = app(async (x: number) => {
  await new Promise((resolve) => setTimeout(resolve, 300));
  return x;
});

test('elasticity - scales out to maxBlocks under load and back in when idle', async () => {
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({
          provider: new LocalProvider({ initBlocks: 0, minBlocks: 0, maxBlocks: 2 }),
          maxWorkersPerNode: 1,
          heartbeatPeriod: 200,
          heartbeatThreshold: 5_000,
          drainPeriod: 1_000,
        }),
      ],
      strategyPeriod: 200,
      maxIdleTime: 1_000,
    }),
  );
  const manager = htexManager(dfk(), 'htex');
  assert.is(manager.blocks().length, 0, 'no block before there is work');
  const futures = Array.from({ length: 30 }, (_, i) => nap(i));
  await deadline(waitFor(() => manager.liveBlocks === 2, 'two live blocks'));
  assert.equal(await deadline(Promise.all(futures), 60_000), Array.from({ length: 30 }, (_, i) => i));
  assert.is(manager.blocks().length, 2, 'never more than maxBlocks');
  const pids = manager.blocks().map((b) => b.pid);
  await deadline(waitFor(() => manager.liveBlocks === 0, 'idle blocks scaled in'), 30_000);
  await deadline(waitFor(() => pids.every((pid) => !processAlive(pid)), 'block processes gone'), 30_000);
});

test('elasticity - minBlocks are kept while idle', async () => {
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({
          provider: new LocalProvider({ initBlocks: 1, minBlocks: 1, maxBlocks: 2 }),
          maxWorkersPerNode: 1,
          heartbeatPeriod: 200,
          heartbeatThreshold: 5_000,
        }),
      ],
      strategyPeriod: 200,
      maxIdleTime: 300,
    }),
  );
  const manager = htexManager(dfk(), 'htex');
  await deadline(waitFor(() => manager.liveBlocks === 1 && manager.blocks()[0]!.pid !== undefined, 'the minimum block'));
  // Idle past maxIdleTime, then three more strategy periods: each would have scaled it in.
  await deadline(waitFor(() => Date.now() - (manager.blocks()[0]!.idleSince ?? Date.now()) > 300, 'the block idle past maxIdleTime'));
  const ticks = manager.strategyTicks;
  await deadline(waitFor(() => manager.strategyTicks >= ticks + 3, 'three strategy periods'));
  assert.is(manager.liveBlocks, 1, 'still one block after idling past maxIdleTime');
});

test("elasticity - strategy 'none' keeps initBlocks whatever the load", async () => {
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({ provider: new LocalProvider({ initBlocks: 1, maxBlocks: 3 }), maxWorkersPerNode: 1, heartbeatPeriod: 200, heartbeatThreshold: 5_000 }),
      ],
      strategy: 'none',
      strategyPeriod: 100,
    }),
  );
  const results = await deadline(Promise.all(Array.from({ length: 12 }, (_, i) => nap(i))), 60_000);
  assert.is(results.length, 12);
  assert.is(htexManager(dfk(), 'htex').blocks().length, 1);
});

test('elasticity - blocks that keep failing to start stop the scaling with a clear error', async () => {
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({
          // Every block dies before its manager starts.
          provider: new LocalProvider({ initBlocks: 0, maxBlocks: 5, workerInit: 'echo broken environment >&2; exit 3' }),
          maxWorkersPerNode: 1,
          heartbeatPeriod: 200,
          heartbeatThreshold: 5_000,
        }),
      ],
      strategyPeriod: 100,
    }),
  );
  const error = await rejection(deadline(nap(1), 60_000), (e) => e instanceof BlockStartError);
  assert.match(error.message, "executor 'htex' stopped scaling: 3 blocks in a row failed to start");
  assert.match(error.message, 'exit code 3');
  assert.match(error.message, 'broken environment');
  const manager = htexManager(dfk(), 'htex');
  const submitted = manager.blocks().length;
  const ticks = manager.strategyTicks;
  await deadline(waitFor(() => manager.strategyTicks >= ticks + 3, 'three strategy periods'));
  assert.is(manager.blocks().length, submitted, 'no block submitted after it stopped');
  await rejection(deadline(nap(2)), (e) => e instanceof BlockStartError);
});

test('elasticity - blocks are cancelled when the script is interrupted', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/htex-interrupted.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  await deadline(waitFor(() => /ready \d+/.test(out), 'the block to register'), 60_000);
  const blockPid = Number(/ready (\d+)/.exec(out)![1]);
  assert.ok(processAlive(blockPid), 'the block runs');
  child.kill('SIGINT');
  assert.is(await deadline(exited, 30_000), 'SIGINT', 'the script dies of SIGINT after clearing');
  await deadline(waitFor(() => !processAlive(blockPid), 'the block process to be gone'), 20_000);
});

test.run();

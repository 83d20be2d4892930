/**
 * HighThroughputExecutor + GridEngineProvider against a real Grid Engine cell (sge_qmaster and
 * sge_execd on this host, started by test/support/gridengine.ts): blocks are qsub jobs whose
 * block managers connect back over NATS.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { app, clear, Config, dfk, GridEngineProvider, HighThroughputExecutor, load } from '../src/index.ts';
import { htexManager } from '../src/internal.ts';
import { deadline, waitFor } from './helpers.ts';
import { GridEngine } from './support/gridengine.ts';

interface Ctx {
  ge?: GridEngine;
}

const test = suite<Ctx>('htex-gridengine');

test.before(async (ctx) => {
  ctx.ge = await deadline(GridEngine.start(), 150_000, 'starting Grid Engine');
});

test.after(async (ctx) => {
  await clear();
  await ctx.ge?.stop();
});


test('gridengine - tasks run on blocks that are qsub jobs; idle blocks are scaled in', async (ctx) => {
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({
          provider: new GridEngineProvider({ channel: ctx.ge!.channel(), queue: ctx.ge!.queue, walltime: '00:10:00', initBlocks: 1, minBlocks: 0, maxBlocks: 1 }),
          maxWorkersPerNode: 1,
          heartbeatPeriod: 300,
          heartbeatThreshold: 5_000,
          drainPeriod: 1_000,
        }),
      ],
      strategyPeriod: 300,
      maxIdleTime: 1_500,
    }),
  );
  const twice = app((x: number) => x * 2);
  const results = await deadline(Promise.all(Array.from({ length: 40 }, (_, i) => twice(i))), 120_000);
  assert.equal(results, Array.from({ length: 40 }, (_, i) => i * 2));
  const manager = htexManager(dfk(), 'htex');
  assert.ok(manager.blocks()[0]?.pid !== undefined, 'the qsub block registered');
  await deadline(waitFor(() => manager.liveBlocks === 0, 'the idle block to be scaled in'), 60_000);
});

test.run();

// Light async workers on a HighThroughputExecutor (`tasksPerWorker`): one block with one
// thread runs many async apps at once, counts each slot as a worker, and still ends each try
// on its own (walltime, failure, cancel). The apps prove they ran at once by meeting at a
// barrier in their shared thread: run one after the other, the first would wait for ever.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, clear, Config, dfk, HighThroughputExecutor, load, LocalProvider, waitForCurrentTasks } from '../src/index.ts';
import { htexManager } from '../src/internal.ts';
import { deadline, rejection, waitFor } from './helpers.ts';

const SLOTS = 40;

/**
 * Waits until `n` calls have arrived at `name`'s barrier in this thread, then returns how many
 * had (or throws, with `fail`). Self-contained: it runs from its source on the block.
 */
const barrier = app(async (name: string, n: number, fail = false) => {
  const g = globalThis as unknown as Record<string, { arrived: number; open: Promise<void>; release: () => void } | undefined>;
  let b = g[name];
  if (!b) {
    let release!: () => void;
    const open = new Promise<void>((resolve) => (release = resolve));
    b = g[name] = { arrived: 0, open, release };
  }
  b.arrived++;
  if (b.arrived >= n) b.release();
  await b.open;
  if (fail) throw new RangeError('failed on purpose');
  return b.arrived;
});

/** Never ends unless its signal aborts. */
const forever = app((_o?: { walltime?: number }) => new Promise<never>(() => {}));

test.before(async () => {
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({
          provider: new LocalProvider({ initBlocks: 1, minBlocks: 1, maxBlocks: 1 }),
          maxWorkersPerNode: 1,
          tasksPerWorker: SLOTS,
          heartbeatPeriod: 300,
          heartbeatThreshold: 5_000,
        }),
      ],
      strategy: 'none',
    }),
  );
  await deadline(waitFor(() => htexManager(dfk(), 'htex').blocks()[0]?.phase === 'registered', 'the block to register'));
});
test.after.each(async () => {
  await deadline(waitForCurrentTasks(), 60_000, 'outstanding tasks');
  assert.is(dfk().tasksOutstanding, 0, 'no task is left outstanding');
});
test.after(async () => {
  await clear();
});

test('htex async workers - each slot of the thread counts as a worker', () => {
  const [block] = htexManager(dfk(), 'htex').blocks();
  assert.is(block?.workers, SLOTS);
});

test('htex async workers - one thread runs as many apps at once as it has slots', async () => {
  const calls = Array.from({ length: SLOTS }, () => barrier('all-at-once', SLOTS));
  const arrived = await deadline(Promise.all(calls));
  assert.equal(arrived, Array(SLOTS).fill(SLOTS));
});

test('htex async workers - walltime, failure and cancel end only their own try', async () => {
  const n = 5;
  const timed = forever({ walltime: 300 });
  const cancelled = forever();
  const failing = barrier('mixed', n, true);
  const fine = Array.from({ length: n - 1 }, () => barrier('mixed', n));
  // The others meet at their barrier while the stuck ones hold their slots.
  assert.equal(await deadline(Promise.all(fine)), Array(n - 1).fill(n));
  await deadline(rejection(failing, (e) => e.name === 'RangeError' && e.message === 'failed on purpose'));
  await deadline(rejection(timed, (e) => e.name === 'AppTimeout'));
  await deadline(waitFor(() => cancelled.state === 'running', 'the task to run'));
  assert.is(cancelled.cancel('enough'), true);
  await deadline(rejection(cancelled, (e) => e.name === 'TaskCancelledError' && e.cause === 'enough'));
  assert.is(await deadline(barrier('after', 1)), 1, 'the thread goes on serving');
});

test.run();

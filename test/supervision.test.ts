import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { send } from '../src/actors/actor.ts';
import {
  app,
  AppTimeout,
  clear,
  Config,
  dfk,
  KernelClosedError,
  load,
  ThreadPoolExecutor,
  waitForCurrentTasks,
  WorkerLost,
} from '../src/index.ts';
import { deadline, rejection, tempDir, waitFor } from './helpers.ts';
import { Gate, holdUntilReleased } from './support/gate.ts';

const work = tempDir();

function start(retries: number): void {
  load(
    new Config({
      executors: [new ThreadPoolExecutor({ maxThreads: 2, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 } })],
      retries,
    }),
  );
}

test.after.each(async () => {
  await deadline(waitForCurrentTasks(), 30_000, 'outstanding tasks');
  assert.is(dfk().tasksOutstanding, 0);
  await clear();
});
test.after(() => work.remove());

const double = app((x: number) => x * 2);
const exitOnce = app(async (path: string) => {
  const fs = await import('node:fs');
  if (!fs.existsSync(path)) {
    fs.writeFileSync(path, 'crashed once');
    process.exit(7);
  }
  return 'second try';
});

test('workers - a worker that calls process.exit fails its task with WorkerLost', async () => {
  start(0);
  const error = await rejection(deadline(exitOnce(join(work.path, 'exit-a'))), (e) => e instanceof WorkerLost);
  assert.match(error.message, 'exit code 7');
  // The worker was replaced: the executor still runs tasks.
  const results = await deadline(Promise.all(Array.from({ length: 20 }, (_, i) => double(i))));
  assert.equal(results, Array.from({ length: 20 }, (_, i) => i * 2));
});

test('workers - with retries, the lost task is retried and succeeds', async () => {
  start(1);
  assert.is(await deadline(exitOnce(join(work.path, 'exit-b'))), 'second try');
});

test('workers - tasks queued on a dying worker are not lost', async () => {
  start(0);
  const crash = app(() => process.exit(1));
  const many = Array.from({ length: 200 }, (_, i) => double(i));
  const crashing = crash();
  const more = Array.from({ length: 200 }, (_, i) => double(i + 200));
  await rejection(deadline(crashing), (e) => e instanceof WorkerLost);
  const results = await deadline(Promise.all([...many, ...more]));
  assert.equal(results, Array.from({ length: 400 }, (_, i) => i * 2));
});

test('workers - a worker past its memory limit is replaced and its task fails with WorkerLost', async () => {
  start(0);
  const hog = app(() => {
    const keep: number[][] = [];
    for (;;) keep.push(new Array(1_000_000).fill(1));
  });
  const error = await rejection(deadline(hog(), 60_000), (e) => e instanceof WorkerLost);
  assert.match(error.message, /memory|OUT_OF_MEMORY/i);
  assert.is(await deadline(double(4)), 8);
});

test('walltime - a synchronous app past its walltime is stopped and fails with AppTimeout', async () => {
  start(0);
  const spin = app((_o: { walltime: number }) => {
    for (;;) {
      // Busy forever: only ending the thread stops it.
    }
  });
  const error = await rejection(deadline(spin({ walltime: 300 })), (e) => e instanceof AppTimeout);
  assert.is(error.walltimeMs, 300);
  assert.is(await deadline(double(5)), 10);
});

test('walltime - an async app past its walltime fails with AppTimeout', async () => {
  start(0);
  const slow = app(async (_o: { walltime: string }) => new Promise((resolve) => setTimeout(resolve, 10_000)));
  await rejection(deadline(slow({ walltime: '200ms' })), (e) => e instanceof AppTimeout);
});

test('supervision - an executor manager that crashes is restarted and its tasks launched again', async () => {
  start(0);
  const gate = new Gate();
  const held = app(holdUntilReleased<number>);
  const before = Array.from({ length: 6 }, (_, i) => held(gate.buffer, i));
  const manager = dfk().executorManagers.get('threads');
  assert.ok(manager, 'the thread executor has a manager actor');
  // Both worker threads hold a task and four more wait behind them when the manager crashes.
  await deadline(gate.started(2));
  // A malformed message makes the manager throw; the DFK supervisor restarts it.
  send(manager as never, { type: 'worker-results', workerId: 'threads-worker-0', channel: null, outcomes: null, meanTaskMs: 0 });
  await deadline(waitFor(() => dfk().executorRestarts === 1, 'the manager to restart'));
  gate.release();
  const results = await deadline(Promise.all(before));
  assert.equal(results, [0, 1, 2, 3, 4, 5]);
  assert.is(dfk().executorRestarts, 1, 'the manager was restarted once');
  assert.is(await deadline(double(6)), 12);
});

test('lifecycle - clear() fails outstanding tasks with KernelClosedError instead of leaving them hanging', async () => {
  start(0);
  const gate = new Gate();
  const pending = app(holdUntilReleased<string>)(gate.buffer, 'never released');
  const dependent = double(pending as never);
  await deadline(gate.started());
  await clear();
  await rejection(deadline(pending), (e) => e instanceof KernelClosedError);
  await rejection(deadline(dependent), (e) => e instanceof KernelClosedError || e.name === 'DependencyError');
  start(0); // after.each expects a loaded kernel
});

test.run();

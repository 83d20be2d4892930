// Cancelling tasks on a HighThroughputExecutor: waiting at the DFK, queued at a block, and
// running on a block's worker (async, sync, bash). A block is another process: the apps tell
// the test that they run by writing files (test/fixtures/cancel-apps.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clear, Config, dfk, HighThroughputExecutor, load, LocalProvider, waitForCurrentTasks } from '../src/index.ts';
import { htexManager } from '../src/internal.ts';
import { awaitsAbortWithFile, sleeper, stuckWithFile, touch } from './fixtures/cancel-apps.ts';
import { sleeperPids } from './cancel-support.ts';
import { deadline, processAlive, rejection, tempDir, waitFor } from './helpers.ts';

const work = tempDir();
const cancelled = (cause?: unknown) => (e: any) => e?.name === 'TaskCancelledError' && (cause === undefined || e.cause === cause);
const file = (name: string) => join(work.path, name);
const appeared = (name: string) => deadline(waitFor(() => existsSync(file(name)), `${name} to be written`));

test.before(async () => {
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({
          // One block with one worker: what is queued behind a running task is known.
          provider: new LocalProvider({ initBlocks: 1, minBlocks: 1, maxBlocks: 1 }),
          maxWorkersPerNode: 1,
          prefetchCapacity: 4,
          heartbeatPeriod: 300,
          heartbeatThreshold: 5_000,
        }),
      ],
      strategy: 'none',
    }),
  );
  await deadline(waitFor(() => htexManager(dfk(), 'htex').blocks()[0]?.pid !== undefined, 'the block to register'));
});
test.after.each(async () => {
  await deadline(waitForCurrentTasks(), 60_000, 'outstanding tasks');
  assert.is(dfk().tasksOutstanding, 0, 'no task is left outstanding');
});
test.after(async () => {
  await clear();
  work.remove();
});

test('htex cancel - a task waiting for a dependency; its dependents get DependencyError', async () => {
  const running = stuckWithFile(work.path, 'p-stuck');
  await appeared('p-stuck.started');
  const controller = new AbortController();
  const waiting = touch(running as never, 'p-never', { signal: controller.signal });
  const dependent = touch(work.path, waiting as never);
  controller.abort('no longer needed');
  await deadline(rejection(waiting, cancelled('no longer needed')));
  await deadline(rejection(dependent, (e) => e.name === 'DependencyError'));
  assert.is(running.cancel(), true);
  await deadline(rejection(running, cancelled()));
});

test('htex cancel - a task queued at the block is taken off; a running sync app: thread replaced, the rest runs', async () => {
  const running = stuckWithFile(work.path, 'q-stuck');
  await appeared('q-stuck.started');
  const queued = touch(work.path, 'q-cancelled');
  const after = touch(work.path, 'q-after');
  await deadline(waitFor(() => queued.state === 'launched' && after.state === 'launched', 'the tasks behind to be launched'));
  assert.is(queued.cancel('off'), true);
  await deadline(rejection(queued, cancelled('off')));
  assert.is(running.cancel('stop'), true, 'the block thread running it is ended');
  await deadline(rejection(running, cancelled('stop')));
  assert.is(await deadline(after), 'q-after', 'the task queued behind ran on the new thread');
  assert.not.ok(existsSync(file('q-cancelled')), 'the cancelled task never ran');
});

test('htex cancel - a running async app on a block sees taskSignal() aborted', async () => {
  const task = awaitsAbortWithFile(work.path, 'a');
  await appeared('a.started');
  assert.is(task.cancel(), true);
  await deadline(rejection(task, cancelled()));
  await appeared('a.aborted');
  assert.is(readFileSync(file('a.aborted'), 'utf8'), 'yes');
  assert.is(await deadline(touch(work.path, 'a-next')), 'a-next', 'the block thread goes on');
});

test('htex cancel - a running bash app on a block: its process group is killed', async () => {
  const task = sleeper(file('b.pids'));
  const [shell, sleep] = await deadline(sleeperPids(file('b.pids')));
  assert.ok(processAlive(shell) && processAlive(sleep), 'the command runs');
  assert.is(task.cancel(), true);
  await deadline(rejection(task, cancelled()));
  await deadline(waitFor(() => !processAlive(shell) && !processAlive(sleep), 'the command and its child to die'));
});

test('htex - heartbeats carry a sample of each worker thread, asked through its control plane', async () => {
  const manager = htexManager(dfk(), 'htex');
  await deadline(waitFor(() => (manager.blocks()[0]?.samples?.[0] as { heapUsed?: number } | undefined)?.heapUsed! > 0, 'a sample of the worker'));
  // A thread busy in synchronous code cannot answer: it is reported busy, not waited for.
  const stuck = stuckWithFile(work.path, 's-stuck');
  await appeared('s-stuck.started');
  await deadline(waitFor(() => (manager.blocks()[0]?.samples?.[0] as { busy?: boolean } | undefined)?.busy === true, 'the busy worker'));
  assert.is(stuck.cancel(), true);
  await deadline(rejection(stuck, cancelled()));
});

test.run();

// Cancelling tasks on the thread executor, wherever they are: waiting for dependencies, queued
// at the pool or at a worker, running (async, sync, bash), and join apps in this thread. Each
// test knows that a task runs because the task told it (test/fixtures/cancel-apps.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { app, clear, Config, dfk, joinApp, load, taskSignal, ThreadPoolExecutor, waitForCurrentTasks } from '../src/index.ts';
import { awaitsAbort, blocker, mark, optionKeys, sleeper } from './fixtures/cancel-apps.ts';
import { flags, flagSet, sleeperPids } from './cancel-support.ts';
import { deadline, processAlive, rejection, tempDir, waitFor } from './helpers.ts';

const work = tempDir();
const cancelled = (cause?: unknown) => (e: any) => e?.name === 'TaskCancelledError' && (cause === undefined || e.cause === cause);

test.before(() => {
  // One thread: what is queued behind a running task is known exactly.
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
});
test.after.each(async () => {
  await deadline(waitForCurrentTasks(), 60_000, 'outstanding tasks');
  assert.is(dfk().tasksOutstanding, 0, 'no task is left outstanding');
});
test.after(async () => {
  await clear();
  work.remove();
});

test('cancel - an aborted signal fails the call at once; the signal never reaches the app', async () => {
  const { buffer, view } = flags();
  const reason = new Error('not wanted');
  const never = mark(buffer, 0, { signal: AbortSignal.abort(reason) });
  await deadline(rejection(never, cancelled(reason)));
  assert.is(never.state, 'failed');
  assert.equal(await deadline(optionKeys({ signal: new AbortController().signal })), [], 'the worker got {} without the signal');
  assert.is(Atomics.load(view, 0), 0, 'the aborted call never ran');
  assert.throws(() => mark(buffer, 0, { signal: 'stop' as never }), /AbortSignal/);
});

test('cancel - a pending task, by its signal: the reason is the cause, dependents get DependencyError', async () => {
  const { buffer, view } = flags();
  const running = blocker(buffer, 0);
  await flagSet(view, 0, 'the blocker to start');
  const controller = new AbortController();
  const waiting = app((x: number) => x + 1)(running, { signal: controller.signal });
  const dependent = app((x: number) => x * 2)(waiting);
  controller.abort('changed my mind');
  await deadline(rejection(waiting, cancelled('changed my mind')));
  await deadline(rejection(dependent, (e) => e.name === 'DependencyError'));
  assert.is(waiting.cancel(), false, 'an ended task cannot be cancelled again');
  Atomics.store(view, 1, 1);
  Atomics.notify(view, 1);
  assert.is(await deadline(running), 0);
});

test('cancel - tasks queued at the worker and at the pool are taken off; the others run', async () => {
  // A fresh thread holds two tasks until its first results tell the pool how long tasks take.
  await clear();
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
  const { buffer, view } = flags();
  const running = blocker(buffer, 0);
  await flagSet(view, 0, 'the blocker to start');
  // The worker holds two tasks (the blocker and the first of these); the rest wait in the pool.
  const atWorker = mark(buffer, 4);
  const atPool = mark(buffer, 5);
  const last = mark(buffer, 6);
  assert.is(atWorker.state, 'pending');
  await waitFor(() => atPool.state === 'launched', 'the tasks to be launched');
  // At the pool first: cancelling at the worker frees a place there, which the pool fills.
  assert.is(atPool.cancel('p'), true);
  assert.is(atWorker.cancel('w'), true);
  assert.is(atWorker.cancel(), false, 'asked once already');
  await deadline(rejection(atWorker, cancelled('w')));
  await deadline(rejection(atPool, cancelled('p')));
  Atomics.store(view, 1, 1);
  Atomics.notify(view, 1);
  assert.is(await deadline(running), 0);
  assert.is(await deadline(last), 6);
  assert.is(Atomics.load(view, 4), 0, 'the task cancelled at the worker never ran');
  assert.is(Atomics.load(view, 5), 0, 'the task cancelled at the pool never ran');
});

test('cancel - a running async app sees taskSignal() aborted, after awaits; the thread goes on', async () => {
  const { buffer, view } = flags();
  const task = awaitsAbort(buffer, 0);
  await flagSet(view, 0, 'the async app to start');
  assert.is(task.cancel('enough'), true);
  await deadline(rejection(task, cancelled('enough')));
  assert.is(await flagSet(view, 1, 'the app to see its signal aborted'), 1, 'taskSignal() was the aborted signal of this task');
  assert.is(await deadline(mark(buffer, 4)), 4);
});

test('cancel - a running sync app: its thread is ended and replaced, the tasks queued behind it run (not a crash)', async () => {
  // More cancels in a row than the worker's limit of consecutive crashes (5).
  for (let i = 0; i < 6; i++) {
    const { buffer, view } = flags();
    const stuck = blocker(buffer, 0); // Never released.
    await flagSet(view, 0, 'the blocker to start');
    const behind = mark(buffer, 4);
    const alsoBehind = mark(buffer, 5);
    await waitFor(() => behind.state === 'launched' && alsoBehind.state === 'launched', 'the tasks behind to be launched');
    assert.is(stuck.cancel(), true);
    await deadline(rejection(stuck, cancelled()));
    assert.equal(await deadline(Promise.all([behind, alsoBehind])), [4, 5], `round ${i}: the queued tasks ran on the new thread`);
  }
});

test('cancel - a running bash app: its command and everything in its process group are killed', async () => {
  const pidFile = join(work.path, 'sleeper.pids');
  const task = sleeper(pidFile);
  const [shell, sleep] = await deadline(sleeperPids(pidFile));
  assert.ok(processAlive(shell) && processAlive(sleep), 'the command runs');
  assert.is(task.cancel(), true);
  await deadline(rejection(task, cancelled()));
  await deadline(waitFor(() => !processAlive(shell) && !processAlive(sleep), 'the command and its child to die'));
  assert.ok(existsSync(pidFile));
});

test('cancel - an async join app sees taskSignal() aborted', async () => {
  let sawAbort!: (aborted: boolean) => void;
  const saw = new Promise<boolean>((resolve) => (sawAbort = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const join = joinApp(async () => {
    const signal = taskSignal();
    started();
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    sawAbort(signal.aborted);
    return 1;
  });
  const task = join();
  await deadline(running);
  assert.is(task.cancel(), true);
  await deadline(rejection(task, cancelled()));
  assert.is(await deadline(saw), true);
});

test('cancel - taskSignal() outside an app throws', () => {
  assert.throws(() => taskSignal(), /only available inside an app/);
});

test.run();

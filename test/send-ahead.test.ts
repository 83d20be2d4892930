/**
 * Tasks sent ahead of their dependency to the thread worker that runs it (src/actors/send-ahead.ts):
 * the chain's values and order, and what becomes of a task sent ahead when its dependency fails,
 * is cancelled, or its worker dies.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { app, clear, Config, dfk, load, ThreadPoolExecutor, waitForCurrentTasks } from '../src/index.ts';
import { deadline, rejection, tempDir } from './helpers.ts';
import { Gate, holdUntilReleased } from './support/gate.ts';

const work = tempDir();

test.before(() => {
  load(new Config({ retries: 1, executors: [new ThreadPoolExecutor({ maxThreads: 2 })] }));
});
test.after.each(async () => {
  await deadline(waitForCurrentTasks(), 30_000, 'outstanding tasks');
  assert.is(dfk().tasksOutstanding, 0, 'no task is left outstanding');
});
test.after(async () => {
  await clear();
  work.remove();
});

const inc = app((x: number) => x + 1);
const held = app(holdUntilReleased<number>);
/** Writes a file named after its argument, so that a test can tell it never ran. */
const touch = app(async (x: number, path: string) => {
  const fs = await import('node:fs');
  fs.writeFileSync(path, String(x));
  return x;
});

test('send ahead - a dependent task goes to the worker while its dependency runs there', async () => {
  const gate = new Gate();
  const first = held(gate.buffer, 1);
  const second = inc(first);
  await deadline(gate.started());
  assert.is(second.state, 'launched', 'launched before its dependency ended');
  gate.release();
  assert.is(await deadline(second), 2);
  assert.is(second.state, 'exec_done');
});

test('send ahead - a long chain gives the right value, and its futures resolve in order', async () => {
  const order: number[] = [];
  const futures = [inc(0)];
  for (let i = 1; i < 300; i++) futures.push(inc(futures[i - 1]!));
  futures.forEach((f, i) => void f.then(() => order.push(i)));
  assert.is(await deadline(futures[299]!), 300);
  await deadline(Promise.all(futures));
  assert.equal(order, [...order].sort((a, b) => a - b));
  assert.ok(futures.every((f) => f.state === 'exec_done'));
});

test('send ahead - a task sent ahead of a dependency that fails never runs and fails with DependencyError', async () => {
  const marker = join(work.path, 'dependent-ran');
  const boom = app((): number => {
    throw new Error('boom');
  })();
  const dependent = touch(boom, marker);
  await rejection(deadline(boom), (e) => e.message === 'boom');
  await rejection(deadline(dependent), (e) => e.name === 'DependencyError');
  assert.is(dependent.state, 'dep_fail');
  assert.not.ok(existsSync(marker));
});

test('send ahead - a dependency cancelled while it runs fails its sent-ahead dependent at once', async () => {
  const gate = new Gate();
  const blocker = held(gate.buffer, 1);
  const waiting = inc(blocker);
  const dependent = inc(waiting);
  await deadline(gate.started());
  assert.is(waiting.cancel(), true);
  await rejection(deadline(waiting), (e) => e.name === 'TaskCancelledError');
  await rejection(deadline(dependent), (e) => e.name === 'DependencyError');
  gate.release();
  assert.is(await deadline(blocker), 1);
});

test('send ahead - the worker dies under the dependency: it is retried, and its dependent runs after it', async () => {
  const marker = join(work.path, 'died-once');
  const diesOnce = app(async (path: string) => {
    const fs = await import('node:fs');
    if (!fs.existsSync(path)) {
      fs.writeFileSync(path, 'x');
      process.exit(3); // in a worker thread: ends the thread
    }
    return 41;
  });
  const first = diesOnce(marker);
  const second = inc(first);
  assert.is(await deadline(second), 42);
  assert.is(await deadline(first), 41);
});

test('send ahead - the worker always dies under the dependency: both end, the dependent with DependencyError', async () => {
  const dies = app(() => process.exit(3));
  const first = dies();
  const second = inc(first as unknown as Promise<number>);
  await rejection(deadline(first), (e) => e.name === 'WorkerLost');
  await rejection(deadline(second), (e) => e.name === 'DependencyError');
});

test.run();

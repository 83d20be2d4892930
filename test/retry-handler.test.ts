import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, clear, Config, dfk, load, ThreadPoolExecutor, waitForCurrentTasks, type RetryHandler } from '../src/index.ts';
import { deadline, rejection, tempDir } from './helpers.ts';

// Parsl consults the retry handler on every failure, also with `retries: 0`: its cost decides.
const work = tempDir();
const consulted: number[] = [];
const retryHandler: RetryHandler = (error, task) => {
  consulted.push(task.tries);
  return (error as Error).message.includes('free once') && task.tries === 1 ? 0 : 1;
};

test.before(() => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })], retries: 0, retryHandler }));
});
test.before.each(() => {
  consulted.length = 0;
});
test.after.each(async () => {
  await deadline(waitForCurrentTasks(), 30_000, 'outstanding tasks');
  assert.is(dfk().tasksOutstanding, 0);
});
test.after(async () => {
  await clear();
  work.remove();
});

const failing = app(async (path: string, message: string) => {
  const fs = await import('node:fs');
  fs.appendFileSync(path, 'x');
  throw new Error(message);
});

test('retry handler - with retries 0 it is consulted, and a positive cost fails the task', async () => {
  const marker = join(work.path, 'costly');
  const error = await rejection(deadline(failing(marker, 'costly')));
  assert.is(error.message, 'costly');
  assert.equal(consulted, [1]);
  assert.is(readFileSync(marker, 'utf8'), 'x');
});

test('retry handler - with retries 0 a failure that costs nothing is retried', async () => {
  const marker = join(work.path, 'free');
  const error = await rejection(deadline(failing(marker, 'free once')));
  assert.is(error.message, 'free once');
  assert.equal(consulted, [1, 2]);
  assert.is(readFileSync(marker, 'utf8'), 'xx');
});

test.run();

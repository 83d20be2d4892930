import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, clear, Config, load, ThreadPoolExecutor } from '../src/index.ts';
import { deadline, rejection, tempDir } from './helpers.ts';

const work = tempDir();
test.after.each(() => clear());
test.after(() => work.remove());

/** Appends a line per real run, so the test can count runs. */
const counted = app(
  async (log: string, x: number) => {
    const fs = await import('node:fs');
    fs.appendFileSync(log, `${x}\n`);
    return x * 2;
  },
  { cache: true },
);

test('memo - an identical call of a cached app is not run again and ends memo_done', async () => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
  const log = join(work.path, 'runs-a');
  const first = counted(log, 21);
  assert.is(await deadline(first), 42);
  assert.is(first.state, 'exec_done');
  const second = counted(log, 21);
  assert.is(await deadline(second), 42);
  assert.is(second.state, 'memo_done');
  assert.is(await deadline(counted(log, 5)), 10, 'other arguments run');
  assert.is(readFileSync(log, 'utf8'), '21\n5\n');
});

test('memo - futures are resolved before the key is made', async () => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
  const log = join(work.path, 'runs-b');
  const seven = app((x: number) => x)(7);
  await deadline(counted(log, seven));
  const again = counted(log, app((x: number) => x + 0)(7));
  await deadline(again);
  assert.is(again.state, 'memo_done');
  assert.is(readFileSync(log, 'utf8'), '7\n');
});

test('memo - Config.appCache false turns caching off for the run', async () => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })], appCache: false }));
  const log = join(work.path, 'runs-c');
  await deadline(counted(log, 1));
  const second = counted(log, 1);
  await deadline(second);
  assert.is(second.state, 'exec_done');
  assert.is(readFileSync(log, 'utf8'), '1\n1\n');
});

test('memo - failures are remembered within the run: an identical call fails the same way without running', async () => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
  const log = join(work.path, 'fails');
  const fails = app(
    async (path: string) => {
      const fs = await import('node:fs');
      fs.appendFileSync(path, 'x');
      throw new RangeError('cached failure');
    },
    { cache: true },
  );
  const first = fails(log);
  const firstError = await rejection(deadline(first), (e) => e instanceof RangeError);
  assert.is(first.state, 'failed');
  const second = fails(log);
  const secondError = await rejection(deadline(second));
  assert.is(secondError, firstError, 'the same error');
  assert.is(second.state, 'memo_done');
  assert.is(readFileSync(log, 'utf8'), 'x', 'run once');
});

test.run();

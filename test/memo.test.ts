import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, clear, Config, load, ThreadPoolExecutor } from '../src/index.ts';
import { deadline, tempDir } from './helpers.ts';

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

test('memo - failures are not remembered', async () => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
  const marker = join(work.path, 'fail-once');
  const flaky = app(
    async (path: string) => {
      const fs = await import('node:fs');
      if (!fs.existsSync(path)) {
        fs.writeFileSync(path, 'x');
        throw new Error('first call fails');
      }
      return 'ok';
    },
    { cache: true },
  );
  await flaky(marker).exception();
  const second = flaky(marker);
  assert.is(await deadline(second), 'ok');
  assert.is(second.state, 'exec_done');
});

test.run();

// Memo keys wired into the DFK (memo-key.ts), and dfk().taskStateCounts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, clear, Config, dfk, load, ThreadPoolExecutor } from '../src/index.ts';
import { deadline, tempDir } from './helpers.ts';

const work = tempDir();
test.before.each(() => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })], runDir: work.path }));
});
test.after.each(() => clear());
test.after(() => work.remove());

test('memo - ignoreForCache leaves named options out of the key; object key order does not matter', async () => {
  const add = app((o: { a: number; b: number; note: string }) => o.a + o.b, { cache: true, ignoreForCache: ['note'] });
  const first = add({ a: 1, b: 2, note: 'x' });
  await deadline(first, 30_000);
  const second = add({ b: 2, a: 1, note: 'y' });
  assert.is(await deadline(second, 30_000), 3);
  assert.is(first.state, 'exec_done');
  assert.is(second.state, 'memo_done');
});

test('memo - a call that cannot be keyed runs uncached, with one warning per app naming why', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const sym = app((_s: unknown, x: number) => x, { cache: true, name: 'withSymbol' });
    const calls = [sym(Symbol('a') as never, 1), sym(Symbol('a') as never, 1)];
    await deadline(Promise.allSettled(calls), 30_000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(calls.every((c) => c.state !== 'memo_done'), 'neither call memoized');
    const ours = warnings.filter((w) => w.includes('withSymbol'));
    assert.is(ours.length, 1, warnings.join('\n'));
    assert.match(ours[0]!, 'uncached');
  } finally {
    process.off('warning', onWarning);
  }
});

test('taskStateCounts - counts tasks by state as they move', async () => {
  const double = app((x: number) => x * 2, { cache: true });
  await deadline(Promise.all([double(1), double(2), double(3)]), 30_000);
  await deadline(double(1), 30_000);
  assert.equal(dfk().taskStateCounts, { exec_done: 3, memo_done: 1 });
});

test.run();

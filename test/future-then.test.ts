// `then` on a future behaves as on a promise, whichever call it is: the first one while pending
// (kept as callbacks on the future, see BaseFuture.#first), a later one, or one once settled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from 'node:assert/strict';
import { AppFuture } from '../src/index.ts';

const future = () => new AppFuture<number>(1, 'f', { cancel: () => false });

test('future then - callbacks run after then returns, and their results chain', async () => {
  const f = future();
  const seen: string[] = [];
  const first = f.then((v) => (seen.push(`first ${v}`), v + 1));
  const second = f.then((v) => (seen.push(`second ${v}`), v * 10));
  f.setResult(4);
  assert.equal(seen, [], 'not run inside setResult');
  assert.is(await first, 5);
  assert.is(await second, 40);
  assert.is(await f.then((v) => v - 1), 3, 'then on a settled future');
  assert.equal(seen, ['first 4', 'second 4']);
});

test('future then - a callback that returns a promise is adopted; one that throws rejects', async () => {
  const f = future();
  const adopted = f.then((v) => Promise.resolve(v * 2));
  const f2 = future();
  const thrown = f2.then(() => {
    throw new RangeError('from the callback');
  });
  f.setResult(21);
  f2.setResult(0);
  assert.is(await adopted, 42);
  await rejects(thrown, RangeError);
});

test('future then - a failure goes to onrejected, or through when there is none', async () => {
  const failed = future();
  const handled = failed.then(() => 'no', (e) => `handled ${(e as Error).message}`);
  failed.setException(new Error('boom'));
  assert.is(await handled, 'handled boom');
  const passing = future();
  const through = passing.then((v) => v);
  passing.setException(new TypeError('through'));
  await rejects(through, TypeError);
  const fulfilled = future();
  const noCallback = fulfilled.then();
  fulfilled.setResult(7);
  assert.is(await noCallback, 7);
});

test('future then - Promise.all and await over futures', async () => {
  const fs = [future(), future(), future()];
  const all = Promise.all(fs);
  fs.forEach((f, i) => f.setResult(i));
  assert.equal(await all, [0, 1, 2]);
  const f = future();
  queueMicrotask(() => f.setResult(9));
  assert.is(await f, 9);
});

test.run();

/**
 * `mapWindowed`: a stream of app calls with a bounded number in flight, results in order or
 * as they end, failures thrown to the loop, endless inputs read only as the window opens.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, clear, Config, ConfigError, load, mapWindowed, ThreadPoolExecutor, waitForCurrentTasks } from '../src/index.ts';
import { deadline, rejection } from './helpers.ts';

test.before(() => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })] }));
});
test.after(async () => {
  await clear();
});

const double = app((x: number) => x * 2);
const failOn = app((x: number, bad: number) => {
  if (x === bad) throw new RangeError(`item ${x} is bad`);
  return x;
});

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

test('mapWindowed - results in input order, never more than the window in flight', async () => {
  let called = 0;
  let taken = 0;
  let most = 0;
  const results: number[] = [];
  const call = (x: number) => {
    called++;
    most = Math.max(most, called - taken);
    return double(x);
  };
  await deadline(
    (async () => {
      for await (const y of mapWindowed(call, range(500), { window: 7 })) {
        taken++;
        results.push(y);
      }
    })(),
  );
  assert.equal(results, [...range(500)].map((x) => x * 2));
  assert.ok(most <= 7, `at most 7 in flight, saw ${most}`);
  assert.ok(most === 7, `the window fills up, saw ${most}`);
});

test('mapWindowed - ordered: false yields every result once', async () => {
  const results: number[] = [];
  await deadline(
    (async () => {
      for await (const y of mapWindowed(double, range(300), { window: 16, ordered: false })) results.push(y);
    })(),
  );
  assert.equal(results.sort((a, b) => a - b), [...range(300)].map((x) => x * 2));
});

test('mapWindowed - a failed call is thrown to the loop, and no call is made after it', async () => {
  for (const ordered of [true, false]) {
    let called = 0;
    const seen: number[] = [];
    const error = await rejection(
      deadline(
        (async () => {
          for await (const y of mapWindowed((x: number) => (called++, failOn(x, 20)), range(1000), { window: 4, ordered })) seen.push(y);
        })(),
      ),
    );
    assert.instance(error, RangeError);
    assert.match((error as Error).message, 'item 20 is bad');
    if (ordered) assert.equal(seen, [...range(20)]);
    assert.ok(called < 1000, `the stream stopped (ordered: ${ordered}), ${called} calls`);
    await waitForCurrentTasks();
  }
});

test('mapWindowed - an endless input is read only as the window opens', async () => {
  let read = 0;
  function* endless(): Generator<number> {
    for (let i = 0; ; i++) {
      read++;
      yield i;
    }
  }
  const results: number[] = [];
  await deadline(
    (async () => {
      for await (const y of mapWindowed(double, endless(), { window: 5 })) {
        results.push(y);
        if (results.length === 10) break;
      }
    })(),
  );
  assert.equal(results, [...range(10)].map((x) => x * 2));
  assert.ok(read <= 15, `read ${read} items for 10 results and a window of 5`);
  await waitForCurrentTasks();
});

test('mapWindowed - async iterables as input', async () => {
  async function* slowly(): AsyncGenerator<number> {
    for (let i = 0; i < 20; i++) yield await Promise.resolve(i);
  }
  const results: number[] = [];
  for await (const y of mapWindowed(double, slowly(), { window: 3 })) results.push(y);
  assert.equal(results, [...range(20)].map((x) => x * 2));
});

test('mapWindowed - a window that is not a positive integer is refused, naming the option', async () => {
  for (const window of [0, -1, 1.5, Number.NaN]) {
    const error = await rejection(mapWindowed(double, range(3), { window }).next());
    assert.instance(error, ConfigError);
    assert.match((error as Error).message, `mapWindowed.window: expected a positive integer; got ${String(window)}`);
  }
});

test.run();

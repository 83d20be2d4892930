// How the worker pool (src/actors/worker-pool.ts) hands tasks to its workers, seen through a
// thread executor: a task never waits behind a running one while another worker could take it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, clear, Config, load, ThreadPoolExecutor } from '../src/index.ts';
import { deadline } from './helpers.ts';
import { awaitRelease, Gate, holdUntilReleased } from './support/gate.ts';

test.after.each(async () => {
  await clear();
});

const held = app(holdUntilReleased<number>);
const awaiting = app(awaitRelease<number>);
const quick = app((i: number) => i);

test('worker pool - a worker whose tasks\' length is not known yet holds only the one it runs: the next goes to the worker that frees up', async () => {
  // A fresh kernel: no worker has reported a result, so nothing says how long tasks take.
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })] }));
  const gates = Array.from({ length: 4 }, () => new Gate());
  const first = [held(gates[0]!.buffer, 0), held(gates[1]!.buffer, 1)];
  await deadline(Promise.all([gates[0]!.started(), gates[1]!.started()]));
  // Both workers are busy with a held task. Each of the next two would wait behind one of them
  // if a busy worker took a second task (one each: the pool spreads a short queue).
  const next = [held(gates[2]!.buffer, 2), held(gates[3]!.buffer, 3)];
  // Task 0 stays held to the end. Every other task that starts is released, so the worker that
  // ran task 1 frees up again and again: tasks 2 and 3 must both start on it.
  gates[1]!.release();
  await deadline(gates[2]!.started());
  gates[2]!.release();
  await deadline(gates[3]!.started());
  gates[3]!.release();
  gates[0]!.release();
  assert.equal(await deadline(Promise.all([...first, ...next])), [0, 1, 2, 3]);
});

test('worker pool - tries sent to a worker behind one that runs long go to a worker that is free', async () => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })] }));
  // Quick tasks first: both workers learn that tasks are short and take them many at a time.
  assert.is((await deadline(Promise.all(Array.from({ length: 2_000 }, (_, i) => quick(i))))).length, 2_000);
  const gate = new Gate();
  const long = awaiting(gate.buffer, -1);
  const short = Array.from({ length: 40 }, (_, i) => quick(i));
  // The long try never ends while the test waits: the quick ones sent to its worker behind it
  // (its share of the 40) must be taken back and run by the other worker.
  assert.equal(await deadline(Promise.all(short)), Array.from({ length: 40 }, (_, i) => i));
  assert.is(gate.count, 1, 'the long try started');
  gate.release();
  assert.is(await deadline(long), -1);
});

test.run();

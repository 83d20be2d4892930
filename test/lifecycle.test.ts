import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { app, Config, dfk, KernelClosedError, load, NoKernelError, ThreadPoolExecutor } from '../src/index.ts';
import { deadline, rejection } from './helpers.ts';
import { Gate, holdUntilReleased } from './support/gate.ts';

const echo = app((x: number) => x);
const held = app(holdUntilReleased<number>);

test('lifecycle - `await using` clears the kernel at the end of the scope', async () => {
  let outstanding;
  {
    await using kernel = load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
    assert.is(kernel.state, 'running');
    assert.is(await deadline(echo(1)), 1);
    const gate = new Gate(); // never released: the task is still running when the scope ends
    outstanding = held(gate.buffer, 5);
    await deadline(gate.started());
  }
  assert.throws(() => dfk(), (e: unknown) => e instanceof NoKernelError);
  await rejection(deadline(outstanding), (e) => e instanceof KernelClosedError);
});

test("lifecycle - exitMode 'wait' waits for outstanding tasks before clearing", async () => {
  let late;
  {
    await using _kernel = load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })], exitMode: 'wait' }));
    const gate = new Gate();
    late = held(gate.buffer, 200);
    // Released only once the task runs, i.e. while the scope's end is already waiting for it.
    void gate.started().then(gate.release.bind(gate), gate.release.bind(gate));
  }
  assert.is(late.done(), true);
  assert.is(await late, 200);
});

test('lifecycle - a script that never clears runs its last task to the end and exits by itself', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/lifecycle-no-clear.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const code = await deadline(new Promise((resolve) => child.on('close', resolve)), 60_000, 'the script to exit');
  assert.is(code, 0, out);
  assert.is(out, 'slept 10\nlate: slept 400\n');
});

test('lifecycle - a cleared kernel refuses new calls and another can be loaded', async () => {
  const kernel = load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
  await kernel.cleanup();
  assert.is(kernel.state, 'closed');
  assert.throws(() => echo(1), (e: unknown) => e instanceof NoKernelError);
  const again = load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
  assert.is(await deadline(echo(2)), 2);
  await again.cleanup();
  await kernel.cleanup(); // safe to call twice
});

test.run();

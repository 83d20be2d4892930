import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  app,
  AppFuture,
  bashApp,
  BashExitFailure,
  clear,
  Config,
  DataFuture,
  dfk,
  File,
  joinApp,
  load,
  MissingOutputs,
  AppTimeout,
  ThreadPoolExecutor,
  waitForCurrentTasks,
} from '../src/index.ts';
import { deadline, rejection, tempDir, waitFor } from './helpers.ts';
import { Gate, holdUntilReleased } from './support/gate.ts';

const work = tempDir();

test.before(() => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })] }));
});
test.after.each(async () => {
  await deadline(waitForCurrentTasks(), 30_000, 'outstanding tasks');
  assert.is(dfk().tasksOutstanding, 0, 'no task is left outstanding');
});
test.after(async () => {
  await clear();
  work.remove();
});

const hello = app(() => 'Hello World!');
const double = app((x: number) => x * 2);
const add = app((a: number, b: number) => a + b);
/** Returns its value once the test releases the gate (test/support/gate.ts). */
const held = app(holdUntilReleased<string>);

test('apps - a call returns a future at once, which resolves to the result', async () => {
  const gate = new Gate();
  const future = held(gate.buffer, 'late');
  assert.ok(future instanceof AppFuture);
  assert.is(future.done(), false);
  assert.ok(['pending', 'launched', 'running'].includes(future.state));
  await deadline(gate.started());
  assert.is(future.done(), false, 'not done while the app runs');
  gate.release();
  assert.is(await deadline(future), 'late');
  assert.is(future.done(), true);
  assert.is(future.state, 'exec_done');
  assert.is(await hello(), 'Hello World!');
});

test('apps - futures passed as arguments are dependencies', async () => {
  const result = add(double(2), double(add(1, 2)));
  assert.is(await deadline(result), 10);
});

test('apps - a chain of dependent calls runs in order', async () => {
  let f = double(1);
  for (let i = 0; i < 20; i++) f = double(f);
  assert.is(await deadline(f), 2 ** 21);
});

test('apps - calls run in parallel on the workers', async () => {
  // Two calls that each wait for the other to have started: only parallel workers finish.
  const shared = new SharedArrayBuffer(8);
  const meet = app((buffer: SharedArrayBuffer, me: number) => {
    const flags = new Int32Array(buffer);
    Atomics.store(flags, me, 1);
    Atomics.notify(flags, me);
    const other = 1 - me;
    // The bound only keeps a broken pool from hanging the test; it is not a synchronisation.
    const outcome = Atomics.wait(flags, other, 0, 60_000);
    return outcome === 'timed-out' ? 'alone' : 'together';
  });
  const results = await deadline(Promise.all([meet(shared, 0), meet(shared, 1)]));
  assert.equal(results, ['together', 'together']);
});

test('apps - result(timeoutMs) rejects in time and the task goes on', async () => {
  const gate = new Gate();
  const slow = held(gate.buffer, 'done');
  await deadline(gate.started());
  await rejection(slow.result(20), (e) => e.name === 'TimeoutError');
  assert.is(slow.done(), false);
  gate.release();
  assert.is(await deadline(slow.result()), 'done');
});

test('apps - exception() gives the error of a failed future, undefined otherwise', async () => {
  const boom = app(() => {
    throw new RangeError('out of range');
  });
  const failed = boom();
  const error = (await deadline(failed.exception())) as Error;
  assert.instance(error, RangeError);
  assert.is(error.message, 'out of range');
  assert.is(failed.state, 'failed');
  assert.is(await deadline(hello().exception()), undefined);
});

test('apps - util.inspect shows tid, state and what it returned', async () => {
  const future = double(21);
  await future;
  assert.match(inspect(future), new RegExp(`^<AppFuture tid=${future.tid} state=exec_done returned number>$`));
  const failing = app(() => {
    throw new TypeError('no');
  })();
  await failing.exception();
  assert.match(inspect(failing), /state=failed raised TypeError>$/);
});

test('apps - tids are unique and increasing', async () => {
  const a = hello();
  const b = hello();
  assert.ok(b.tid > a.tid);
  await Promise.all([a, b]);
});

test('apps - the trailing options object: futures in values and inputs are resolved', async () => {
  const total = app((opts: { inputs: number[]; scale: number }) => opts.inputs.reduce((s, x) => s + x, 0) * opts.scale);
  const result = total({ inputs: [double(1), double(2), 3], scale: double(5) });
  assert.is(await deadline(result), 90);
});

test('apps - a plain promise is a dependency too', async () => {
  let settle!: (value: number) => void;
  const later = new Promise<number>((resolve) => (settle = resolve));
  const doubled = double(later);
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(doubled.state, 'pending', 'waits for the promise');
  settle(20);
  assert.is(await deadline(doubled), 40);
});

test('apps - inline apps import what they need inside the body', async () => {
  const cpuCount = app(async () => {
    const os = await import('node:os');
    return os.cpus().length > 0;
  });
  assert.is(await deadline(cpuCount()), true);
});

test('bash apps - stdout goes to the file the call names', async () => {
  const echoHello = bashApp((_opts: { stdout: string }) => 'echo "Hello World!"');
  const stdout = join(work.path, 'echo-hello.stdout');
  const future = echoHello({ stdout });
  assert.is(future.stdout, stdout);
  assert.is(await deadline(future), 0);
  assert.is(readFileSync(stdout, 'utf8'), 'Hello World!\n');
});

test('bash apps - stdout appends by default; [path, "w"] truncates; stderr is separate', async () => {
  const say = bashApp((word: string, _o: { stdout: unknown; stderr?: string }) => `echo ${word}; echo oops-${word} >&2`);
  const out = join(work.path, 'append.out');
  const err = join(work.path, 'append.err');
  await say('one', { stdout: out, stderr: err });
  await say('two', { stdout: out, stderr: err });
  assert.is(readFileSync(out, 'utf8'), 'one\ntwo\n');
  assert.is(readFileSync(err, 'utf8'), 'oops-one\noops-two\n');
  await say('three', { stdout: [out, 'w'] });
  assert.is(readFileSync(out, 'utf8'), 'three\n');
});

test('bash apps - a non-zero exit fails the future with BashExitFailure and its code', async () => {
  const failing = bashApp(() => 'exit 3');
  const error = await rejection(deadline(failing()), (e) => e instanceof BashExitFailure);
  assert.is(error.exitCode, 3);
});

test('bash apps - declared outputs that were not written fail with MissingOutputs', async () => {
  const lazy = bashApp((_o: { outputs: File[] }) => 'true');
  const missing = join(work.path, 'never-written.txt');
  const error = await rejection(deadline(lazy({ outputs: [new File(missing)] })), (e) => e instanceof MissingOutputs);
  assert.equal(error.outputs, [missing]);
});

test('bash apps - walltime kills the command and fails with AppTimeout', async () => {
  const sleeper = bashApp((_o: { walltime: number }) => 'sleep 30');
  const error = await rejection(deadline(sleeper({ walltime: 200 })), (e) => e instanceof AppTimeout);
  assert.is(error.walltimeMs, 200);
});

test('bash apps - the command is built from the arguments and inputs', async () => {
  const source = join(work.path, 'numbers.txt');
  writeFileSync(source, '3\n1\n2\n');
  const sorted = join(work.path, 'sorted.txt');
  const sortFile = bashApp((opts: { inputs: File[]; outputs: File[] }) => `sort -n ${opts.inputs[0]} > ${opts.outputs[0]}`);
  const future = sortFile({ inputs: [new File(source)], outputs: [new File(sorted)] });
  assert.is(future.outputs.length, 1);
  assert.instance(future.outputs[0], DataFuture);
  const file = await deadline(future.outputs[0]!);
  assert.instance(file, File);
  assert.is(file.filepath, sorted);
  assert.is(readFileSync(sorted, 'utf8'), '1\n2\n3\n');
});

test('files - a DataFuture in inputs makes the reader wait for the writer', async () => {
  const target = join(work.path, 'produced.txt');
  const go = join(work.path, 'produced.go');
  execFileSync('mkfifo', [go]);
  // The writer holds until the test writes a line into the fifo `go`.
  const write = bashApp((path: string, fifo: string, _o: { outputs: File[] }) => `read -r _ < ${fifo}; echo produced > ${path}`);
  const writer = write(target, go, { outputs: [new File(target)] });
  const read = app(async (opts: { inputs: File[] }) => {
    const fs = await import('node:fs/promises');
    return (await fs.readFile(opts.inputs[0]!.filepath, 'utf8')).trim();
  });
  const reader = read({ inputs: [writer.outputs[0]!] });
  await deadline(waitFor(() => writer.state === 'running', 'the writer to run'));
  assert.is(reader.state, 'pending', 'the reader waits for the writer');
  await writeFile(go, 'go\n'); // opening a fifo for writing waits until the writer reads it
  assert.is(await deadline(reader), 'produced');
  assert.ok(existsSync(target));
});

test('join apps - a join app resolves with the futures it returns', async () => {
  const fanOut = joinApp((n: number) => Array.from({ length: n }, (_, i) => double(i)));
  assert.equal(await deadline(fanOut(4)), [0, 2, 4, 6]);
  const single = joinApp((x: number) => add(x, double(x)));
  const future = single(5);
  assert.is(await deadline(future), 15);
  assert.is(future.state, 'exec_done');
});

test('join apps - a join app that returns something other than futures fails with a TypeError', async () => {
  const three = joinApp(() => 3);
  const error = await rejection(deadline(three()), (e) => e instanceof TypeError);
  assert.match(error.message, 'a join app must return a future or an array of futures');
  assert.match(error.message, 'got a number');
  const mixed = joinApp(() => [double(1), 3]);
  const mixedFuture = mixed();
  const error2 = await rejection(deadline(mixedFuture), (e) => e instanceof TypeError);
  assert.match(error2.message, 'element 1 is a number');
  assert.is(mixedFuture.state, 'failed');
  const none = joinApp(() => []);
  assert.equal(await deadline(none()), [], 'an empty array joins nothing, as in Parsl');
});

test('join apps - nested join apps', async () => {
  const fib: (n: number) => AppFuture<number> = joinApp((n: number): AppFuture<number> | number =>
    n < 2 ? add(n, 0) : add(fib(n - 1), fib(n - 2)),
  ) as never;
  assert.is(await deadline(fib(10)), 55);
});

test('cancel - a pending task is cancelled and its dependents fail', async () => {
  const gate = new Gate();
  const blocker = held(gate.buffer, 'x');
  const waiting = app((s: string) => s + '!')(blocker);
  const dependent = app((s: string) => s + '?')(waiting);
  await deadline(gate.started());
  assert.is(waiting.cancel(), true);
  await rejection(deadline(waiting), (e) => e.name === 'TaskCancelledError');
  await rejection(deadline(dependent), (e) => e.name === 'DependencyError');
  gate.release();
  assert.is(await deadline(blocker), 'x');
  assert.is(blocker.cancel(), false, 'a finished task cannot be cancelled');
});

test('cancel - a task cancelled in the tick of its call never runs; the DFK makes the state change', async () => {
  const marker = join(work.path, 'never-ran');
  const touch = app(async (path: string) => {
    const fs = await import('node:fs');
    fs.writeFileSync(path, 'ran');
    return 1;
  });
  const future = touch(marker);
  assert.is(future.cancel(), true);
  assert.is(future.cancel(), false, 'a second cancel has nothing to do');
  assert.is(future.state, 'pending', 'the state is the DFK\'s to change');
  const error = await rejection(deadline(future), (e) => e.name === 'TaskCancelledError');
  assert.match(error.stack, 'apps.test.ts', 'the error is made where cancel() was called');
  assert.is(future.state, 'failed');
  assert.not.ok(existsSync(marker));
});

test.run();

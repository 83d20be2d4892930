import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import {
  app,
  clear,
  Config,
  DependencyError,
  dfk,
  FunctionSerializationError,
  load,
  SerializationError,
  ThreadPoolExecutor,
  waitForCurrentTasks,
  type RetryHandler,
} from '../src/index.ts';
import { deadline, rejection, tempDir } from './helpers.ts';
import { callHidden, triple, tripleNamed } from './fixtures/module-apps.ts';

const work = tempDir();
const retriesSeen: number[] = [];
const retryHandler: RetryHandler = (error, task) => {
  const message = (error as Error).message;
  if (message.includes('handler breaks')) throw new RangeError(`handler broke on task ${task.taskId}`);
  if (message.includes('never retry')) return 3;
  retriesSeen.push(task.tries);
  return message.includes('free') ? 0.5 : 1;
};

test.before(() => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })], retries: 2, retryHandler }));
});
test.after.each(async () => {
  await deadline(waitForCurrentTasks(), 30_000, 'outstanding tasks');
  assert.is(dfk().tasksOutstanding, 0);
});
test.after(async () => {
  await clear();
  work.remove();
});

const double = app((x: number) => x * 2);
const fail = app((message: string): number => {
  throw new Error(message);
});

test('dependencies - a failed dependency fails dependents with DependencyError naming the task ids', async () => {
  const bad = fail('root cause');
  const middle = double(bad);
  const last = double(middle);
  const unrelated = double(21);
  const error = await rejection(deadline(last), (e) => e instanceof DependencyError);
  assert.equal(error.dependentTaskIds, [middle.tid]);
  assert.equal(error.chain, [middle.tid, bad.tid]);
  assert.match(error.message, `Dependency failure for task ${last.tid}`);
  assert.match(error.message, `via task ${middle.tid} <- task ${bad.tid}`);
  assert.is(middle.state, 'dep_fail');
  assert.is(last.state, 'dep_fail');
  assert.is(bad.state, 'failed');
  // The root cause is reachable through the causes.
  assert.is(error.cause.cause.message, 'root cause');
  assert.is(await unrelated, 42, 'unrelated tasks run on');
});

test('dependencies - a fan-in on 3,000 failed tasks leads with the root cause and names a few ids and the count', async () => {
  const seed = app((i: number): number => {
    throw new Error(`seed ${i} failed, never retry`);
  });
  const seeds = Array.from({ length: 3000 }, (_, i) => seed(i));
  const count = app((opts: { inputs: number[] }) => opts.inputs.length);
  const total = count({ inputs: seeds });
  const error = await rejection(deadline(total, 120_000), (e) => e instanceof DependencyError);
  const [a, b, c] = seeds.map((f) => f.tid);
  assert.is(error.dependentTaskIds.length, 3000, 'the full list is kept on the error');
  assert.equal(error.dependentTaskIds, seeds.map((f) => f.tid));
  assert.ok(error.message.startsWith(`Dependency failure for task ${total.tid}: Error: seed 0 failed, never retry`), error.message);
  assert.match(error.message, `on failed tasks ${a}, ${b}, ${c} … and 2,997 more`);
  assert.ok(error.message.length < 300, `the message is ${error.message.length} characters: ${error.message}`);
  // A long chain is shortened the same way.
  let link = seeds[0]!;
  for (let i = 0; i < 50; i++) link = double(link);
  const deep = await rejection(deadline(link), (e) => e instanceof DependencyError);
  assert.is(deep.chain.length, 50, 'the 49 links before it and the seed');
  assert.ok(deep.message.length < 300, deep.message);
  assert.match(deep.message, `<- task ${a}`);
});

test('errors - an app error keeps its class name, message, worker stack and cause', async () => {
  const thrower = app(() => {
    class InputProblem extends Error {
      code = 'E_INPUT';
    }
    const low = new TypeError('low level');
    const error = new InputProblem('bad input', { cause: low });
    error.name = 'InputProblem';
    throw error;
  });
  const error = await rejection(deadline(thrower()));
  assert.is(error.name, 'InputProblem');
  assert.is(error.message, 'bad input');
  assert.is(error.code, 'E_INPUT');
  assert.instance(error, Error);
  assert.match(error.stack, 'InputProblem: bad input');
  assert.instance(error.cause, TypeError);
  assert.is(error.cause.message, 'low level');
});

test('retries - a failing task is retried until it succeeds within the retry budget', async () => {
  const marker = join(work.path, 'attempts');
  const flaky = app(async (path: string) => {
    const fs = await import('node:fs');
    const n = fs.existsSync(path) ? Number(fs.readFileSync(path, 'utf8')) : 0;
    fs.writeFileSync(path, String(n + 1));
    if (n < 2) throw new Error(`attempt ${n + 1} failed`);
    return n + 1;
  });
  assert.is(await deadline(flaky(marker)), 3);
});

test('retries - past the budget the last error is the failure', async () => {
  const marker = join(work.path, 'always');
  const always = app(async (path: string) => {
    const fs = await import('node:fs');
    fs.appendFileSync(path, 'x');
    throw new Error('always fails');
  });
  const error = await rejection(deadline(always(marker)));
  assert.is(error.message, 'always fails');
  const fs = await import('node:fs');
  assert.is(fs.readFileSync(marker, 'utf8'), 'xxx', 'tried 1 + 2 retries');
});

test('retries - the retry handler weighs each failure', async () => {
  retriesSeen.length = 0;
  const marker = join(work.path, 'cheap');
  const cheap = app(async (path: string) => {
    const fs = await import('node:fs');
    fs.appendFileSync(path, 'x');
    throw new Error('free failure');
  });
  await rejection(deadline(cheap(marker)));
  const fs = await import('node:fs');
  // Each failure costs 0.5 against retries = 2: tries 1..5 fail, the 5th brings the cost to 2.5.
  assert.is(fs.readFileSync(marker, 'utf8'), 'xxxxx');
  assert.equal(retriesSeen, [1, 2, 3, 4, 5]);
});

test('retries - a retry handler that throws fails the task with its error, the app error as cause, and no retry', async () => {
  const marker = join(work.path, 'handler-throws');
  const breaks = app(async (path: string) => {
    const fs = await import('node:fs');
    fs.appendFileSync(path, 'x');
    throw new Error('the handler breaks on this');
  });
  const future = breaks(marker);
  const error = await rejection(deadline(future), (e) => e instanceof RangeError);
  assert.is(error.message, `handler broke on task ${future.tid}`);
  assert.is(error.cause.message, 'the handler breaks on this');
  assert.is(future.state, 'failed');
  const fs = await import('node:fs');
  assert.is(fs.readFileSync(marker, 'utf8'), 'x', 'tried once');
});

test('functions - an inline app that reads a captured variable is refused, naming it and the fix', () => {
  const factor = 3;
  const offset = 1;
  try {
    app((x: number) => x * factor + offset);
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, FunctionSerializationError);
    const message = (error as Error).message;
    assert.match(message, "'factor'");
    assert.match(message, "'offset'");
    assert.match(message, 'import.meta.url');
    assert.match(message, 'argument');
  }
});

test('functions - globals, inner functions and loader helpers are not captured state', async () => {
  const busy = app((n: number) => {
    function square(y: number): number {
      return y * y;
    }
    const cube = (y: number) => y * square(y);
    return Math.max(cube(n), JSON.parse('1'), Number.parseInt('2', 10));
  });
  assert.is(await deadline(busy(3)), 27);
});

test('functions - object method shorthand can be an app', async () => {
  const tools = {
    plusOne(x: number) {
      return x + 1;
    },
  };
  assert.is(await deadline(app(tools.plusOne)(1)), 2);
});

test('functions - bound and native functions are refused with the reason', () => {
  try {
    app(Math.max);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, FunctionSerializationError);
    assert.match((error as Error).message, 'no source');
  }
});

test('functions - apps exported from a module run by module reference, with module scope', async () => {
  assert.is(await deadline(triple(2)), 6);
  assert.is(await deadline(tripleNamed(2)), 7);
  const error = await rejection(deadline(callHidden(1)), (e) => e instanceof FunctionSerializationError);
  assert.match(error.message, 'does not export it');
});

test('values - Map, Set, Date, BigInt, typed arrays and Buffer survive the trip both ways', async () => {
  const echo = app((value: unknown) => value);
  const value = {
    map: new Map<string, number>([['a', 1]]),
    set: new Set([1, 2]),
    date: new Date('2020-01-02T03:04:05Z'),
    big: 2n ** 70n,
    floats: new Float64Array([1.5, 2.5]),
    bytes: Buffer.from('hello'),
    nested: [{ deep: new Map([[1, Buffer.from('x')]]) }],
  };
  const back = (await deadline(echo(value))) as typeof value;
  assert.instance(back.map, Map);
  assert.is(back.map.get('a'), 1);
  assert.instance(back.set, Set);
  assert.ok(back.set.has(2));
  assert.instance(back.date, Date);
  assert.is(back.date.toISOString(), '2020-01-02T03:04:05.000Z');
  assert.is(back.big, 2n ** 70n);
  assert.instance(back.floats, Float64Array);
  assert.equal([...back.floats], [1.5, 2.5]);
  assert.ok(Buffer.isBuffer(back.bytes), 'a Buffer comes back as a Buffer');
  assert.is(back.bytes.toString(), 'hello');
  assert.ok(Buffer.isBuffer(back.nested[0]!.deep.get(1)));
  const isBuffer = app((b: unknown) => Buffer.isBuffer(b));
  assert.is(await deadline(isBuffer(Buffer.from('y'))), true, 'the worker sees a Buffer');
});

test('values - an argument that cannot be sent fails that call only, naming where it is', async () => {
  const echo = app((value: unknown) => value);
  class Point {
    constructor(public x: number) {}
  }
  const bad = echo({ handler: () => 1 });
  const alsoBad = echo([1, new Point(2)]);
  const good = echo(5);
  const error = await rejection(deadline(bad), (e) => e instanceof SerializationError);
  assert.match(error.message, 'argument[0].handler is a function');
  const error2 = await rejection(deadline(alsoBad), (e) => e instanceof SerializationError);
  assert.match(error2.message, 'argument[0][1] is an instance of class Point');
  assert.is(await good, 5);
});

test('values - a result that cannot be sent fails with a clear error', async () => {
  const returnsFunction = app(() => () => 1);
  const error = await rejection(deadline(returnsFunction()), (e) => e.name === 'SerializationError');
  assert.match(error.message, 'the return value is a function');
});

test('values - a future nested where it is not resolved is refused with the rule', async () => {
  const echo = app((value: unknown) => value);
  const error = await rejection(deadline(echo({ list: [double(1)] })), (e) => e instanceof SerializationError);
  assert.match(error.message, 'inside `inputs`');
});

test.run();

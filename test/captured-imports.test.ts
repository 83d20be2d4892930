/**
 * Inline apps that read what their module imports (issue 7, item 7): the worker imports the
 * same specifiers, resolved from the app's module, and binds the same names. On worker
 * threads here, under `parsl-ts run`, and with plain `node` on a `.mjs` script; on an HTEX
 * block in test/htex-imports.test.ts.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clear, Config, FunctionSerializationError, load, ThreadPoolExecutor } from '../src/index.ts';
import { builtins, echoBase, makeRefused, packages, relative, shadowed } from './fixtures/imports-apps.ts';
import { deadline, runNode, tempDir, type NodeRun, type NodeRunOptions } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** `node …args` from the repository's root. */
const node = (args: string[], options: NodeRunOptions = {}): Promise<NodeRun> => runNode(args, { cwd: root, ...options });
const work = tempDir();

test.before(() => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })] }));
});
test.after(async () => {
  await clear();
  work.remove();
});

test('imports - named, default and namespace imports of a builtin travel', async () => {
  assert.equal(await deadline(builtins()), [true, 'b.txt', 'pid']);
});

test('imports - aliased, default and namespace imports of a package travel; type imports are ignored', async () => {
  assert.equal(await deadline(packages(4)), [4, 'function', 'function', null]);
});

test('imports - default and named imports of relative .ts and .mjs files travel', async () => {
  assert.equal(await deadline(relative(2)), [20, 6, 'HELLO!']);
});

test('imports - a bash app builds its command with an import', async () => {
  const out = join(work.path, 'echo.txt');
  assert.is(await deadline(echoBase('/some/where/file.txt', { stdout: out })), 0);
  assert.is(readFileSync(out, 'utf8'), 'file.txt\n');
});

test('imports - an import that shadows a global is the import in the worker', async () => {
  assert.is(await deadline(shadowed()), 'slept');
});

test('imports - any other captured variable is still refused, naming it and the fix', () => {
  try {
    makeRefused();
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, FunctionSerializationError);
    const message = (error as Error).message;
    assert.match(message, "reads the variable 'factor'");
    assert.not.match(message, "'score'");
    assert.match(message, 'static imports');
    assert.match(message, 'import.meta.url');
  }
});



function printed(outcome: NodeRun): unknown {
  assert.is(outcome.code, 0, `exit status ${outcome.code}; stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`);
  const line = outcome.stdout.split('\n').find((l) => l.startsWith('['));
  assert.ok(line, `no JSON line in stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`);
  return JSON.parse(line);
}

const expected = [hostname(), 'b.txt', 4, 'function', 'function', 20, 6, 'HELLO!'];

test('imports - an app made in a script run by parsl-ts run travels with the script imports', async () => {
  assert.equal(printed(await node([join(root, 'bin', 'parsl-ts.js'), 'run', 'test/fixtures/imports-script.ts'])), expected);
});

test('imports - an app made in a plain .mjs script run by node travels with the script imports', async () => {
  // tsx only loads parsl-ts from its TypeScript sources; the script itself is JavaScript.
  assert.equal(printed(await node(['--import', 'tsx', 'test/fixtures/imports-script.mjs'])), expected);
});

test.run();

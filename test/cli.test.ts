/**
 * The `parsl-ts` command, run the way a user runs it: `node bin/parsl-ts.js …` in a child
 * process. Tests of `run` that check the config need load() to read the default config
 * (src/config/from-environment.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import everyField, { describeConfig } from './fixtures/config-every-field.ts';
import { deadline, tempDir } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'parsl-ts.js');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Called once, with the child, when stdout first contains `text`. */
  onOutput?: { text: string; then: (child: ChildProcess) => void };
}

/** Runs `node bin/parsl-ts.js …args` and collects what it printed. */
function cli(args: string[], options: CliOptions = {}): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...options.env };
  // The test runner's own PARSL_TS_* variables must not leak into the command.
  for (const name of ['PARSL_TS_CONFIG', 'PARSL_TS_THREADS', 'PARSL_TS_RETRIES']) {
    if (!options.env || !(name in options.env)) delete env[name];
  }
  const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let waiting = options.onOutput;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (waiting && stdout.includes(waiting.text)) {
      const { then } = waiting;
      waiting = undefined;
      then(child);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<Outcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return deadline(done, 60_000, `parsl-ts ${args.join(' ')}`).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** Asserts the exit status, showing what the command printed when it is wrong. */
function assertExit(outcome: Outcome, code: number): void {
  assert.is(outcome.code, code, `exit status ${outcome.code} (signal ${outcome.signal}); stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`);
}

interface ScriptReport {
  result: number;
  executors: { label: string; maxThreads: number }[];
  retries: number;
  argv: string[];
}

/** The JSON line test/fixtures/cli-script.ts prints. */
function report(outcome: Outcome): ScriptReport {
  assertExit(outcome, 0);
  const line = outcome.stdout.split('\n').find((l) => l.startsWith('{'));
  assert.ok(line, `no JSON line in stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`);
  return JSON.parse(line) as ScriptReport;
}

const script = 'test/fixtures/cli-script.ts';

test('version - --version and -v print the package version', async () => {
  for (const flag of ['--version', '-v']) {
    const outcome = await cli([flag]);
    assertExit(outcome, 0);
    assert.is(outcome.stdout, `${version}\n`);
    assert.is(outcome.stderr, '');
  }
});

test('help - --help, -h, help and no arguments print the usage screen', async () => {
  for (const args of [['--help'], ['-h'], ['help'], [], ['run', '--help']]) {
    const outcome = await cli(args);
    assertExit(outcome, 0);
    for (const part of ['Usage:', 'parsl-ts run [options] <script>', '--config <file>', '--threads <n>', '--retries <n>', 'Examples:', 'SIGINT']) {
      assert.ok(outcome.stdout.includes(part), `'${args.join(' ')}' printed no '${part}':\n${outcome.stdout}`);
    }
    assert.not.match(outcome.stdout, /https?:\/\//);
  }
});

test('usage - an unknown option is named, with exit status 2', async () => {
  const outcome = await cli(['--frobnicate']);
  assertExit(outcome, 2);
  assert.match(outcome.stderr, /unknown option '--frobnicate'/);
  assert.match(outcome.stderr, /parsl-ts --help/);
  assert.is(outcome.stdout, '');
});

test('usage - an unknown option of run is named, with exit status 2', async () => {
  const outcome = await cli(['run', '--thread', '4', script]);
  assertExit(outcome, 2);
  assert.match(outcome.stderr, /unknown option '--thread' for 'run'/);
});

test('usage - an unknown command is named, and a script name gets a hint', async () => {
  const unknown = await cli(['frobnicate']);
  assertExit(unknown, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const bare = await cli([script]);
  assertExit(bare, 2);
  assert.match(bare.stderr, /parsl-ts run test\/fixtures\/cli-script\.ts/);
});

test('usage - bad and missing option values are refused before the script runs', async () => {
  for (const [args, message] of [
    [['run', '--threads', 'four', script], /--threads: expected a positive whole number; got 'four'/],
    [['run', '--threads=0', script], /--threads: expected a positive whole number; got '0'/],
    [['run', '--retries', '-1', script], /--retries: expected a non-negative whole number; got '-1'/],
    [['run', '--config', '--threads', '2', script], /--config needs a value/],
    [['run'], /'run' needs a script/],
  ] as const) {
    const outcome = await cli([...args]);
    assertExit(outcome, 2);
    assert.match(outcome.stderr, message);
    assert.is(outcome.stdout, '');
  }
});

test('usage - a bad PARSL_TS_THREADS is named', async () => {
  const outcome = await cli(['run', script], { env: { PARSL_TS_THREADS: 'many' } });
  assertExit(outcome, 2);
  assert.match(outcome.stderr, /PARSL_TS_THREADS: expected a positive whole number; got 'many'/);
});

test('run - a missing script is named, with exit status 2', async () => {
  const outcome = await cli(['run', 'test/fixtures/no-such-script.ts']);
  assertExit(outcome, 2);
  assert.match(outcome.stderr, /cannot find the script 'test\/fixtures\/no-such-script\.ts'/);
  assert.ok(outcome.stderr.includes(join(root, 'test/fixtures/no-such-script.ts')), outcome.stderr);
});

test('run - a missing config module is named, with exit status 2', async () => {
  const outcome = await cli(['run', '--config', 'test/fixtures/no-such-config.ts', script]);
  assertExit(outcome, 2);
  assert.match(outcome.stderr, /cannot find the config module 'test\/fixtures\/no-such-config\.ts'/);
});

test('run - runs a plain JavaScript script and passes its arguments through', async () => {
  const outcome = await cli(['run', 'test/fixtures/cli-plain.mjs', 'a', '--b', '--threads', '2', '--', 'c']);
  assertExit(outcome, 0);
  assert.is(outcome.stdout, 'plain js ["a","--b","--threads","2","--","c"]\n');
});

test('run - -- ends the options of run', async () => {
  const outcome = await cli(['run', '--', 'test/fixtures/cli-plain.mjs', '--help']);
  assertExit(outcome, 0);
  assert.is(outcome.stdout, 'plain js ["--help"]\n');
});

test('run - a TypeScript script runs with the default config and sees its arguments', async () => {
  const r = report(await cli(['run', script, 'first', '--second', 'third']));
  assert.is(r.result, 42);
  assert.equal(r.argv, ['first', '--second', 'third']);
  assert.is(r.executors.length, 1);
  assert.is(r.executors[0]?.label, 'threads');
  assert.is(r.retries, 0);
});

test('run - --threads and --retries reach load() with no argument', async () => {
  const r = report(await cli(['run', '--threads', '3', '--retries=2', script, 'arg']));
  assert.equal(r.executors, [{ label: 'threads', maxThreads: 3 }]);
  assert.is(r.retries, 2);
  assert.equal(r.argv, ['arg']);
});

test('run - --config loads a module whose default export is a Config', async () => {
  const r = report(await cli(['run', '--config', 'test/fixtures/cli-config.ts', script]));
  assert.equal(r.executors, [{ label: 'from-config-file', maxThreads: 2 }]);
  assert.is(r.retries, 3);
});

test('run - --config accepts a function returning a Config', async () => {
  const r = report(await cli(['run', '--config=test/fixtures/cli-config-factory.ts', script]));
  assert.equal(r.executors, [{ label: 'from-factory', maxThreads: 1 }]);
});

test('run - flags override the config module', async () => {
  const r = report(await cli(['run', '--config', 'test/fixtures/cli-config.ts', '--threads', '5', '--retries', '0', script]));
  assert.equal(r.executors, [{ label: 'from-config-file', maxThreads: 5 }]);
  assert.is(r.retries, 0);
});

test('run - PARSL_TS_* variables are defaults, and flags win over them', async () => {
  const config = join(root, 'test/fixtures/cli-config.ts');
  const fromEnv = report(await cli(['run', script], { env: { PARSL_TS_CONFIG: config, PARSL_TS_RETRIES: '1' } }));
  assert.equal(fromEnv.executors, [{ label: 'from-config-file', maxThreads: 2 }]);
  assert.is(fromEnv.retries, 1);
  const flagsWin = report(await cli(['run', '--threads', '4', script], { env: { PARSL_TS_THREADS: '7' } }));
  assert.equal(flagsWin.executors, [{ label: 'threads', maxThreads: 4 }]);
});

test('run - every field of the config module survives --retries, --threads and PARSL_TS_* (issue 7, 6a)', async () => {
  const full = describeConfig(everyField);
  const printed = (outcome: Outcome): Record<string, unknown> => {
    assertExit(outcome, 0);
    const line = outcome.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, `no JSON line in stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`);
    return JSON.parse(line) as Record<string, unknown>;
  };
  const module = 'test/fixtures/config-every-field.ts';
  const printer = 'test/fixtures/cli-print-config.ts';
  assert.equal(printed(await cli(['run', '--retries', '2', '--config', module, printer])), { ...full, retries: 2 });
  assert.equal(printed(await cli(['run', '--threads', '3', '--config', module, printer])), { ...full, executors: ['every-field:3'] });
  const env = { PARSL_TS_CONFIG: join(root, module), PARSL_TS_RETRIES: '1', PARSL_TS_THREADS: '4' };
  assert.equal(printed(await cli(['run', printer], { env })), { ...full, retries: 1, executors: ['every-field:4'] });
});

test('run - a config module whose default export is not a Config is refused', async () => {
  const outcome = await cli(['run', '--config', 'test/fixtures/cli-config-bad.ts', 'test/fixtures/cli-plain.mjs']);
  assertExit(outcome, 2);
  assert.match(outcome.stderr, /default export must be a Config, or a function returning one; got \{ executors: 4 \}/);
  assert.is(outcome.stdout, '', 'the script must not run');
});

test('run - a config module that throws fails with exit status 1 and its error', async () => {
  const dir = tempDir();
  try {
    const config = join(dir.path, 'throwing-config.mjs');
    writeFileSync(config, "throw new Error('config module broke');\n");
    const outcome = await cli(['run', '--config', config, 'test/fixtures/cli-plain.mjs']);
    assertExit(outcome, 1);
    assert.match(outcome.stderr, /config module broke/);
    assert.is(outcome.stdout, '');
  } finally {
    dir.remove();
  }
});

test("run - a script may import 'parsl-ts' by name", async () => {
  const outcome = await cli(['run', 'test/fixtures/cli-bare-import.ts']);
  assertExit(outcome, 0);
  assert.is(outcome.stdout, 'sum 5\n');
});

test('run - a script that throws fails with exit status 1 and its error', async () => {
  const outcome = await cli(['run', 'test/fixtures/cli-throws.ts']);
  assertExit(outcome, 1);
  assert.match(outcome.stderr, /cli-throws fixture failed on purpose/);
});

test('run - a script in another directory runs from the working directory', async () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'where.mjs'), 'console.log(process.cwd(), process.argv[1]);\n');
    const outcome = await cli(['run', 'where.mjs'], { cwd: dir.path });
    assertExit(outcome, 0);
    assert.is(outcome.stdout, `${dir.path} ${join(dir.path, 'where.mjs')}\n`);
  } finally {
    dir.remove();
  }
});

for (const [signal, status] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  test(`signals - ${signal} clears the kernel, then exits with ${status}`, async () => {
    const outcome = await cli(['run', 'test/fixtures/cli-wait-for-signal.ts'], {
      onOutput: { text: 'ready\n', then: (child) => child.kill(signal) },
    });
    assertExit(outcome, status);
    // clear() failed the task that was still running: the kernel was stopped, not killed.
    assert.match(outcome.stdout, /task ended: KernelClosedError/);
    assert.match(outcome.stderr, new RegExp(`${signal} received, stopping the kernel`));
  });
}

test.run();

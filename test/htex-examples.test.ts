// The seeds' examples, written for the thread executor, run unchanged on a
// HighThroughputExecutor with LocalProvider blocks: only the config changes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { deadline, tempDir } from './helpers.ts';

function runExample(example: string): Promise<{ code: number | null; out: string }> {
  const dir = tempDir('parsl-ts-htex-example-');
  const child = spawn(process.execPath, ['bin/parsl-ts.js', 'run', '--config', 'test/fixtures/htex-config.ts', `examples/${example}`], {
    env: { ...process.env, PARSL_EXAMPLE_DIR: dir.path },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      dir.remove();
      resolve({ code, out });
    }),
  );
}

test('htex examples - pi: three estimates and their average', async () => {
  const { code, out } = await deadline(runExample('pi.ts'), 180_000);
  assert.is(code, 0, out);
  const average = Number(/Average: ([\d.]+)/.exec(out)?.[1]);
  assert.ok(Math.abs(average - Math.PI) < 0.05, out);
});

test('htex examples - protein docking: bash apps in a nested loop, then the analysis', async () => {
  const { code, out } = await deadline(runExample('protein-docking.ts'), 180_000);
  assert.is(code, 0, out);
  assert.match(out, /Best pair: /);
});

test('htex examples - live coding: 500 apps then avg over their futures', async () => {
  const { code, out } = await deadline(runExample('live-coding.ts'), 180_000);
  assert.is(code, 0, out);
  assert.match(out, /state=exec_done returned number/);
});

test('htex examples - sites/two-sites: the multi-site demo on two leaf nodes started by parsl-ts site', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/sites/two-sites.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const code = await deadline(new Promise((resolve) => child.on('close', resolve)), 180_000, 'two-sites.ts');
  assert.is(code, 0, out);
  assert.match(out, /siteA: .* pid \d+\nsiteB: .* pid \d+/);
  assert.match(out, /double: 0 2 4 .* 58\n/);
  const [, atA, atB] = /on siteA \(1 worker\): (\d+), on siteB \(2 workers\): (\d+)/.exec(out) ?? [];
  assert.is(Number(atA) + Number(atB), 30, out);
});

test.run();

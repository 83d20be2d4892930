// Runs every program in examples/ the way a user would (`node --import tsx examples/x.ts`),
// each in its own process with a fresh working directory, and checks what it prints.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runNode, tempDir, type NodeRun } from './helpers.ts';

const root = new URL('..', import.meta.url).pathname;
const TIMEOUT_MS = 120_000;

interface Run extends NodeRun {
  /** The example's working directory ($PARSL_EXAMPLE_DIR). */
  dir: string;
}

/** Runs examples/<name>.ts in its own process, in a fresh working directory. */
async function runExample(name: string, check: (run: Run) => void): Promise<void> {
  const dir = tempDir('parsl-ts-example-');
  try {
    const run: Run = {
      ...(await runNode(['--import', 'tsx', join('examples', `${name}.ts`)], { cwd: root, env: { PARSL_EXAMPLE_DIR: dir.path }, timeoutMs: TIMEOUT_MS })),
      dir: dir.path,
    };
    if (run.code !== 0) {
      assert.unreachable(`examples/${name}.ts exited with ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
    }
    // Exiting cleanly includes not printing warnings (a user reads this output first).
    assert.is(run.stderr, '', `examples/${name}.ts wrote to stderr`);
    check(run);
  } finally {
    dir.remove();
  }
}

/** The number after `label` in `text`, e.g. number('Average: 0.36361', 'Average:'). */
function numberAfter(text: string, label: string): number {
  const match = new RegExp(`${label}\\s*(-?\\d+(?:\\.\\d+)?)`).exec(text);
  assert.ok(match, `no number after '${label}' in:\n${text}`);
  return Number(match[1]);
}

function assertNear(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
}

test('examples - hello prints the result, not done before and done after', () =>
  runExample('hello', ({ stdout }) => {
    assert.equal(stdout.trim().split('\n'), ['Done: false', 'Result: Hello World!', 'Done: true']);
  }));

test('examples - echo-stdout writes Hello World! to echo-hello.stdout and prints it', () =>
  runExample('echo-stdout', ({ stdout, dir }) => {
    assert.equal(readFileSync(join(dir, 'echo-hello.stdout'), 'utf8'), 'Hello World!\n');
    assert.equal(stdout.trim().split('\n').at(-1), 'Hello World!');
  }));

test('examples - sort-numbers sorts the numbers of unsorted_numbers.txt', () =>
  runExample('sort-numbers', ({ stdout, dir }) => {
    const written = readFileSync(join(dir, 'unsorted_numbers.txt'), 'utf8').trim().split('\n').map(Number);
    const line = (label: string) => {
      const match = new RegExp(`^${label}:\\s+(.*)$`, 'm').exec(stdout);
      assert.ok(match, `no '${label}:' line in:\n${stdout}`);
      return match[1]!.trim().split(/\s+/).map(Number);
    };
    assert.equal(line('Unsorted'), written);
    assert.equal(line('Sorted'), [...written].sort((a, b) => a - b));
  }));

test('examples - monte-carlo estimates the integral 0.36358', () =>
  runExample('monte-carlo', ({ stdout }) => {
    assertNear(numberAfter(stdout, 'Average:'), 0.36358, 0.02, 'the Monte-Carlo integral');
  }));

test('examples - pi prints three estimates of pi and their average', () =>
  runExample('pi', ({ stdout }) => {
    const estimates = ['A:', 'B:', 'C:'].map((label) => numberAfter(stdout, label));
    for (const [i, estimate] of estimates.entries()) assertNear(estimate, Math.PI, 0.05, `estimate ${'ABC'[i]}`);
    const average = numberAfter(stdout, 'Average:');
    assertNear(average, Math.PI, 0.05, 'the average');
    // Printed with 5 decimals each, so the average of the printed values is off by rounding at most.
    assertNear(average, (estimates[0]! + estimates[1]! + estimates[2]!) / 3, 2e-5, 'the average of A, B and C');
  }));

test('examples - live-coding averages 500 futures and shows their states', () =>
  runExample('live-coding', ({ stdout }) => {
    assert.match(stdout, /<AppFuture tid=1 state=exec_done returned number>/);
    assert.match(stdout, /estimatePi\(\) returned <AppFuture tid=\d+ state=\w+/);
    assert.match(stdout, /and now <AppFuture tid=\d+ state=exec_done returned number>/);
    const results = /Results: (.*)/.exec(stdout)?.[1]?.split(', ').map(Number);
    assert.ok(results && results.length === 9 && results.every((r) => r === 0 || r === 4), `Results line: ${results}`);
    assertNear(numberAfter(stdout, 'avg of 9 points:'), results.reduce((a: number, b) => a + b, 0) / 9, 1e-9, 'avg of the 9 results');
    // 500 draws of 0 or 4: the standard error is about 0.07, so this is a loose bound (8 sigma).
    assertNear(numberAfter(stdout, 'π ≈'), Math.PI, 0.6, 'π from 500 points');
  }));

test('examples - protein-docking docks every pair and ranks them', () =>
  runExample('protein-docking', ({ stdout, dir }) => {
    const proteins = ['1hsg', '2bsm', '3eml'];
    const ligands = ['aspirin', 'caffeine', 'ibuprofen', 'imatinib'];
    const lines = stdout.trim().split('\n');
    assert.equal(lines[0]!.trim().split(/\s+/), ['protein', ...ligands]);
    const scores: { pair: string; score: number }[] = [];
    for (const [i, p] of proteins.entries()) {
      const cells = lines[i + 1]!.trim().split(/\s+/);
      assert.is(cells[0], p);
      for (const [j, c] of ligands.entries()) {
        const score = Number(cells[j + 1]);
        assert.ok(Number.isInteger(score) && score >= 0 && score < 1000, `score of ${p} + ${c}: ${cells[j + 1]}`);
        // Each dock call wrote its output file, and the table shows what it holds.
        const file = join(dir, `${p}-${c}.score`);
        assert.ok(existsSync(file), `${file} was not written`);
        assert.is(readFileSync(file, 'utf8'), `${p} ${c} ${score}\n`);
        scores.push({ pair: `${p} + ${c}`, score });
      }
    }
    const best = Math.max(...scores.map((s) => s.score));
    const bestLine = lines.at(-1)!;
    assert.match(bestLine, new RegExp(`^Best pair: .* \\(score ${best}\\)$`));
    assert.ok(
      scores.some((s) => s.score === best && bestLine.startsWith(`Best pair: ${s.pair} `)),
      `${bestLine} is not a pair with score ${best}`,
    );
  }));

test.run();

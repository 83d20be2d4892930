// Runs every runnable example of README.md and docs/ (a ```ts example block without `no-run`)
// the way a user would: written to a file, `node --import tsx file.ts` in its own process and
// a fresh working directory, on the default config (the thread executor). `npm run lint` has
// already type-checked them all (scripts/check-docs.mjs); this proves they work.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allExamples, exampleFileName, runnableSource, type DocsExample } from '../scripts/docs-examples.mjs';
import { deadline, runNode, tempDir, type NodeRun } from './helpers.ts';

const root = new URL('..', import.meta.url).pathname;
const TIMEOUT_MS = 120_000;
const examples = allExamples(root).filter((example) => example.run);

test('the docs have runnable examples', () => {
  // A marker typo would silently skip every example: there are some in the quick start at least.
  assert.ok(examples.length >= 5, `only ${examples.length} runnable examples found`);
});

// Two examples at a time: most of each run is starting node, tsx and worker threads, and the
// file must stay well inside the runner's per-file limit on a loaded machine.
const CONCURRENCY = 2;
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

async function runExample(example: DocsExample): Promise<NodeRun> {
  const dir = tempDir('parsl-ts-docs-example-');
  try {
    // An ES module, as a user's script in a `"type": "module"` package (top-level await).
    writeFileSync(join(dir.path, 'package.json'), '{ "type": "module" }\n');
    const file = join(dir.path, exampleFileName(example));
    writeFileSync(file, runnableSource(root, example));
    // tsx is resolved from the repository (the example's directory has no node_modules).
    return await runNode(['--import', import.meta.resolve('tsx'), file], { cwd: dir.path, timeoutMs: TIMEOUT_MS + 5_000 });
  } finally {
    dir.remove();
  }
}

// Started at once (each waits for a slot); each test awaits its own run.
const runs = examples.map((example) => slot(() => runExample(example)));
// A run that fails before its test awaits it is reported by that test, not as unhandled.
for (const run of runs) run.catch(() => {});

examples.forEach((example, i) => {
  test(`${example.file}:${example.line} runs`, async () => {
    const run = await deadline(runs[i]!, TIMEOUT_MS, `${example.file}:${example.line}`);
    if (run.code !== 0) {
      assert.unreachable(`${example.file}:${example.line} exited with ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
    }
  });
});

test.run();

// scripts/check-docs.mjs (run by `npm run lint`) on a README.md and docs/ made here: it passes on
// good links and examples, and fails naming the file and line of each broken link, missing
// heading and example that does not type-check. The TypeDoc part runs on the real sources in lint.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deadline, tempDir } from './helpers.ts';

const script = new URL('../scripts/check-docs.mjs', import.meta.url).pathname;
const fence = '```';

function checkDocs(root: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, '--root', root, '--no-typedoc'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

function writeDocs(root: string, guide: string): void {
  mkdirSync(join(root, 'docs'), { recursive: true });
  writeFileSync(join(root, 'README.md'), '# Project\n\nSee [the guide](docs/guide.md#apps).\n');
  writeFileSync(join(root, 'docs', 'guide.md'), guide);
}

const goodGuide = `# Guide

## Apps

Back to [the README](../README.md) and [apps](#apps).

${fence}ts example
import { app } from 'parsl-ts';
const double = app((x: number) => x * 2);
${fence}

${fence}ts example no-run
import { Config } from 'parsl-ts';
export default new Config({ retries: 1 });
${fence}
`;

test('good links and examples pass', async () => {
  const dir = tempDir('parsl-ts-check-docs-');
  try {
    writeDocs(dir.path, goodGuide);
    const run = await deadline(checkDocs(dir.path), 180_000, 'check-docs');
    assert.is(run.code, 0, run.output);
    assert.match(run.output, /check-docs: 2 examples type-check/);
  } finally {
    dir.remove();
  }
});

test('a broken link, a missing heading and an example that does not type-check each fail, by file and line', async () => {
  const dir = tempDir('parsl-ts-check-docs-');
  try {
    const broken = goodGuide
      .replace('[apps](#apps)', '[apps](#no-such-heading)')
      .replace('[the README](../README.md)', '[the README](../MISSING.md)')
      .replace('app((x: number) => x * 2)', 'app((x: number) => x * 2, { retries: 2 })');
    writeDocs(dir.path, broken);
    const run = await deadline(checkDocs(dir.path), 180_000, 'check-docs');
    assert.is(run.code, 1, run.output);
    assert.match(run.output, /docs\/guide\.md:5: broken link \.\.\/MISSING\.md/);
    assert.match(run.output, /docs\/guide\.md:5: broken link #no-such-heading/);
    assert.match(run.output, /docs\/guide\.md:9: example does not type-check: .*retries/);
    assert.match(run.output, /check-docs: 3 problem\(s\)/);
  } finally {
    dir.remove();
  }
});

test.run();

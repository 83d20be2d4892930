#!/usr/bin/env node
// Runs every test/*.test.ts file in its own Node process (a crash or a hang in one file
// cannot take the others down), prints each file's output, and ends with the line CI reads:
// "N passed, N failed".
//
//   npm test                      all files
//   npm test -- test/apps.test.ts some files
//   TEST_TIMEOUT_S=300 npm test   per-file time limit (default 240 s)
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const files = args.length > 0 ? args : readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('test', f));
const timeoutMs = Number(process.env.TEST_TIMEOUT_S ?? 240) * 1000;

let passed = 0;
let failed = 0;
let skipped = 0;
const broken = [];

for (const file of files) {
  const started = Date.now();
  const { code, output, timedOut } = await runFile(file);
  const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const skip = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (code === 0 && !timedOut && (total > 0 || skip > 0)) {
    passed += ok;
    skipped += skip;
    failed += total - ok - skip;
    console.log(`  ${file}: ${ok}/${total} passed (${seconds}s)`);
  } else {
    // A file that crashed or hung: count what it reported, and at least one failure.
    passed += ok;
    skipped += skip;
    failed += Math.max(1, total - ok - skip);
    broken.push(file);
    console.log(`  ${file}: FAILED (${timedOut ? 'timed out' : `exit ${code}`}, ${seconds}s)`);
  }
}

if (broken.length > 0) console.log(`\nFiles with failures: ${broken.join(', ')}`);
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);

function runFile(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    const collect = (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

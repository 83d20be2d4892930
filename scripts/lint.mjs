#!/usr/bin/env node
// `npm run lint`: ESLint on src, test, bench and examples, tsc --noEmit on src (tsconfig.json)
// and on everything (tsconfig.all.json), and the docs checks (scripts/check-docs.mjs), side by side: each is one single-threaded process, so on
// two cores this halves the wait. Each one's output is printed whole when it ends; the exit code
// is 1 if any of them failed.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// Through package.json: eslint's exports map does not list its bin.
const bin = (pkg, file) => join(dirname(require.resolve(`${pkg}/package.json`)), file);

const checks = [
  ['eslint', [bin('eslint', 'bin/eslint.js'), 'src', 'test', 'bench', 'examples']],
  ['tsc src', [bin('typescript', 'bin/tsc'), '-p', 'tsconfig.json', '--noEmit']],
  ['tsc tests, bench, examples', [bin('typescript', 'bin/tsc'), '-p', 'tsconfig.all.json', '--noEmit']],
  // Links of README.md and docs/, their ```ts example blocks, the TSDoc of every public export.
  ['docs', [new URL('check-docs.mjs', import.meta.url).pathname]],
];

const started = Date.now();
const results = await Promise.all(
  checks.map(
    ([name, args]) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.on('error', (error) => resolve({ name, ok: false, output: String(error) }));
        child.on('close', (code) => {
          const ok = code === 0;
          process.stdout.write(`lint: ${name} ${ok ? 'ok' : `failed (exit ${code})`} after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
          if (output.trim() !== '') process.stdout.write(`${output.trimEnd()}\n`);
          resolve({ name, ok });
        });
      }),
  ),
);
const failed = results.filter((r) => !r.ok).map((r) => r.name);
process.stdout.write(failed.length === 0 ? 'lint: clean\n' : `lint: failed: ${failed.join(', ')}\n`);
process.exitCode = failed.length === 0 ? 0 : 1;

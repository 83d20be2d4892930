#!/usr/bin/env node
// Runs every test/*.test.ts file in its own Node process (a crash or a hang in one file
// cannot take the others down), prints each file's output, and ends with the line CI reads:
// "N passed, N failed".
//
//   npm test                      all files
//   npm test -- test/apps.test.ts some files
//   TEST_TIMEOUT_S=300 npm test   per-file time limit (default 240 s)
//   TEST_BUDGET_S=1500 npm test    limit for the whole run (default 25 min, so that CI with its
//                                 set-up stays under 30): files past it are not run, and fail
//
// Each file runs in a process group of its own: a file that hangs is killed with everything it
// started, and a file that leaves processes behind is named (and they are killed).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const files = args.length > 0 ? args : readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('test', f));
const timeoutMs = Number(process.env.TEST_TIMEOUT_S ?? 240) * 1000;
const budgetEnd = Date.now() + Number(process.env.TEST_BUDGET_S ?? 1500) * 1000;

/** The process group of the file now running, killed with this runner on SIGINT/SIGTERM. */
let running;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (running) killGroup(running, 'SIGKILL');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
const broken = [];

for (const file of files) {
  const started = Date.now();
  if (started >= budgetEnd) {
    failed += 1;
    broken.push(file);
    console.log(`  ${file}: NOT RUN (the run is past TEST_BUDGET_S)`);
    continue;
  }
  const { code, output, timedOut } = await runFile(file, Math.min(timeoutMs, budgetEnd - started));
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

/** Sends `signal` to process group `pgid`; false if the group has no process left. */
function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function runFile(file, limitMs) {
  // Run directories of configs that name none go here, removed after the file: a run of the suite
  // left hundreds of runinfo/NNN folders in the repository before.
  const runDir = mkdtempSync(join(tmpdir(), 'parsl-ts-test-runinfo-'));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0', PARSL_TS_RUN_DIR: runDir },
      detached: true, // its own process group, see above
    });
    running = child.pid;
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
      killGroup(child.pid, 'SIGKILL');
    }, limitMs);
    child.on('close', async (code) => {
      clearTimeout(timer);
      running = undefined;
      // Helpers such as tsx's esbuild service end a moment after the file's process: give them 3 s.
      for (let i = 0; i < 60 && killGroup(child.pid, 0); i++) await new Promise((r) => setTimeout(r, 50));
      if (killGroup(child.pid, 0)) {
        // Still there: processes the file started and did not stop.
        const left = spawnSync('ps', ['-o', 'pid=,args=', '-g', String(child.pid)], { encoding: 'utf8' }).stdout.trim();
        console.log(`  ${file}: left processes behind in its process group (killed them):\n${left}`);
        killGroup(child.pid, 'SIGKILL');
      }
      rmSync(runDir, { recursive: true, force: true });
      resolve({ code, output, timedOut });
    });
  });
}

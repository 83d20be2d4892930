import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  RUN_SUBDIRS,
  TASK_LOGS_PER_FOLDER,
  latestRunDir,
  listRunDirs,
  makeRunDir,
  resumeRunDir,
  runDirAt,
  runDirName,
  taskLogPath,
} from '../src/dataflow/run-dir.ts';
import { deadline, tempDir } from './helpers.ts';

const work = tempDir();
test.after(() => work.remove());
let n = 0;
const fresh = () => join(work.path, `runinfo-${n++}`);

test('run dir - numbered 000, 001, … with their folders, runDir made if missing', () => {
  const runDir = fresh();
  const first = makeRunDir(runDir);
  assert.is(first.path, join(runDir, '000'));
  assert.is(first.number, 0);
  for (const folder of Object.values(RUN_SUBDIRS)) assert.ok(existsSync(join(first.path, folder)), folder);
  assert.is(first.checkpoint, join(runDir, '000', 'checkpoint'));
  assert.is(makeRunDir(runDir).path, join(runDir, '001'));
  assert.equal(readdirSync(runDir).sort(), ['000', '001']);
});

test('run dir - continues after the highest number, ignores other files and folders', () => {
  const runDir = fresh();
  mkdirSync(join(runDir, '007'), { recursive: true });
  mkdirSync(join(runDir, 'notes'));
  mkdirSync(join(runDir, '12a'));
  writeFileSync(join(runDir, '900'), 'a file, not a run');
  writeFileSync(join(runDir, 'parsl.log'), '');
  assert.is(makeRunDir(runDir).path, join(runDir, '008'));
  assert.equal(listRunDirs(runDir).map((r) => r.number), [7, 8]);
  assert.is(latestRunDir(runDir)?.number, 8);
});

test('run dir - past 999 the names grow (Parsl: 1000) and sort by number', () => {
  const runDir = fresh();
  mkdirSync(join(runDir, '999'), { recursive: true });
  assert.is(makeRunDir(runDir).path, join(runDir, '1000'));
  assert.is(latestRunDir(runDir)?.path, join(runDir, '1000'), 'numeric, not lexical order');
  assert.is(runDirName(5), '005');
  assert.is(runDirName(12345), '12345');
});

test('run dir - latest of an empty or missing runDir is undefined', () => {
  assert.is(latestRunDir(fresh()), undefined);
  const runDir = fresh();
  mkdirSync(runDir);
  assert.is(latestRunDir(runDir), undefined);
  assert.equal(listRunDirs(join(runDir, 'missing')), []);
});

test('run dir - drivers starting at once each get their own number', async () => {
  const runDir = fresh();
  mkdirSync(runDir);
  const drivers = Array.from({ length: 6 }, () =>
    spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/make-run-dir.ts', runDir], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const lines = drivers.map((child) => createInterface({ input: child.stdout! })[Symbol.asyncIterator]());
  try {
    // Every driver is ready before any is told to go: they race for the same numbers.
    for (const line of lines) assert.is((await deadline(line.next(), 60_000, 'driver start')).value, 'ready');
    for (const child of drivers) child.stdin!.write('go\n');
    const made = await Promise.all(lines.map(async (line) => (await deadline(line.next(), 60_000, 'run dir')).value as string));
    assert.equal(made.sort(), ['000', '001', '002', '003', '004', '005'].map((name) => join(runDir, name)));
  } finally {
    for (const child of drivers) if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('run dir - AUTO_LOGNAME paths as Parsl names them, 10000 tasks per folder', () => {
  const run = runDirAt(join(work.path, 'runinfo', '003'));
  assert.is(taskLogPath(run, 42, 'sortNumbers', 'stdout'), join(run.path, 'task_logs', '0000', 'task_0042_sortNumbers.stdout'));
  assert.is(taskLogPath(run.path, 42, 'sortNumbers', 'stderr'), join(run.path, 'task_logs', '0000', 'task_0042_sortNumbers.stderr'));
  assert.is(taskLogPath(run, 9999, 'f', 'stdout'), join(run.path, 'task_logs', '0000', 'task_9999_f.stdout'));
  assert.is(taskLogPath(run, TASK_LOGS_PER_FOLDER, 'f', 'stdout'), join(run.path, 'task_logs', '0001', 'task_10000_f.stdout'));
  assert.is(taskLogPath(run, 123456, 'f', 'stdout'), join(run.path, 'task_logs', '0012', 'task_123456_f.stdout'));
  assert.is(taskLogPath(run, 7, 'f', 'stdout', 'big'), join(run.path, 'task_logs', '0000', 'task_0007_f_big.stdout'), "Parsl's label");
  assert.is(taskLogPath(run, 7, 'a/b', 'stdout'), join(run.path, 'task_logs', '0000', 'task_0007_a_b.stdout'), 'no folder from a name');
  assert.throws(() => taskLogPath(run, -1, 'f', 'stdout'), /non-negative integer/);
  assert.throws(() => taskLogPath(run, 1.5, 'f', 'stdout'), /non-negative integer/);
});

test('run dir - resume latest or a given run directory', () => {
  const runDir = fresh();
  assert.throws(() => resumeRunDir('latest', runDir), /found no run directory/);
  makeRunDir(runDir);
  const second = makeRunDir(runDir);
  assert.is(resumeRunDir('latest', runDir).path, second.path);
  const old = join(runDir, '000');
  assert.is(resumeRunDir(old, runDir).path, old);
  assert.throws(() => resumeRunDir(join(runDir, '042'), runDir), /is not a directory/);
  mkdirSync(join(runDir, '005'));
  const resumed = resumeRunDir('latest', runDir);
  assert.is(resumed.number, 5);
  assert.ok(existsSync(resumed.checkpoint), 'folders made for a run that lacks them');
});

test.run();

// Checkpoints wired into the DFK: checkpointMode, checkpointFiles, dfk().checkpoint().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSqlite } from '../src/dataflow/checkpoint-file.ts';
import { app, clear, Config, dfk, getAllCheckpoints, getLastCheckpoint, load, ThreadPoolExecutor, type ConfigOptions } from '../src/index.ts';
import { deadline, tempDir } from './helpers.ts';

const work = tempDir();
test.after.each(() => clear());
test.after(() => work.remove());

let marks = 0;
function marker(): string {
  return join(work.path, `marker-${++marks}`);
}

/** Appends a line to `path` each time it runs, so that a test can tell whether it ran. */
const double = app(
  async (path: string, x: number) => {
    const fs = await import('node:fs');
    fs.appendFileSync(path, 'ran\n');
    return x * 2;
  },
  { cache: true, name: 'double' },
);

function runs(path: string): number {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0;
}

function rows(runPath: string): number {
  const file = join(runPath, 'checkpoint', 'results.sqlite');
  if (!existsSync(file)) return 0;
  const Sqlite = loadSqlite();
  const db = new Sqlite(file, { readonly: true });
  try {
    // task_exit appends to the journal, merged into results later (checkpoint-file.ts): both count.
    return (db.prepare('SELECT (SELECT count(*) FROM results) + (SELECT count(*) FROM journal) AS n').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function start(runDir: string, options: ConfigOptions = {}): void {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })], runDir, ...options }));
}

test('checkpoint - a second run with getLastCheckpoint() ends a cached call memo_done without running it', async () => {
  const runDir = join(work.path, 'reuse');
  const mark = marker();
  start(runDir, { checkpointMode: 'task_exit' });
  assert.is(await deadline(double(mark, 21), 30_000), 42);
  await clear();
  assert.equal(getAllCheckpoints(runDir), [join(runDir, '000', 'checkpoint')]);
  start(runDir, { checkpointFiles: getLastCheckpoint(runDir) });
  const again = double(mark, 21);
  assert.is(await deadline(again, 30_000), 42);
  assert.is(again.state, 'memo_done');
  assert.is(runs(mark), 1, 'ran once, in the first run');
  const other = double(mark, 5);
  assert.is(await deadline(other, 30_000), 10);
  assert.is(other.state, 'exec_done', 'a new call runs');
});

test("checkpoint - 'task_exit' commits each result before its future resolves", async () => {
  start(join(work.path, 'task-exit'), { checkpointMode: 'task_exit' });
  const mark = marker();
  await deadline(double(mark, 1), 30_000);
  assert.is(rows(dfk().runDir), 1);
  await deadline(Promise.all([double(mark, 2), double(mark, 3)]), 30_000);
  assert.is(rows(dfk().runDir), 3);
});

test("checkpoint - 'manual' writes on dfk().checkpoint(), 'dfk_exit' at cleanup", async () => {
  start(join(work.path, 'manual'), { checkpointMode: 'manual' });
  const mark = marker();
  await deadline(Promise.all([double(mark, 1), double(mark, 2)]), 30_000);
  const run = dfk().runDir;
  assert.is(rows(run), 0, 'nothing before checkpoint()');
  assert.is(await dfk().checkpoint(), 2);
  assert.is(rows(run), 2);
  await clear();

  start(join(work.path, 'dfk-exit'), { checkpointMode: 'dfk_exit' });
  await deadline(double(mark, 3), 30_000);
  const exitRun = dfk().runDir;
  assert.is(rows(exitRun), 0, 'nothing before cleanup');
  await clear();
  assert.is(rows(exitRun), 1);
});

test("checkpoint - 'periodic' writes on its period; checkpointPeriod takes 'HH:MM:SS'", async () => {
  assert.is(new Config({ checkpointPeriod: '01:30:00' }).checkpointPeriodMs, 5_400_000);
  assert.is(new Config({ checkpointPeriod: '30m' }).checkpointPeriodMs, 1_800_000);
  start(join(work.path, 'periodic'), { checkpointMode: 'periodic', checkpointPeriod: 200 });
  await deadline(double(marker(), 1), 30_000);
  const run = dfk().runDir;
  const until = Date.now() + 30_000;
  while (rows(run) === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.is(rows(run), 1);
});

test('checkpoint - a corrupt checkpoint is reported and skipped', async () => {
  const bad = join(work.path, 'corrupt', '000', 'checkpoint');
  mkdirSync(bad, { recursive: true });
  writeFileSync(join(bad, 'results.sqlite'), 'this is not a database, just some bytes '.repeat(200));
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    start(join(work.path, 'after-corrupt'), { checkpointFiles: [bad] });
    const mark = marker();
    const f = double(mark, 4);
    assert.is(await deadline(f, 30_000), 8);
    assert.is(f.state, 'exec_done');
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(warnings.some((w) => w.includes(bad) && w.includes('skipped')), warnings.join('\n'));
  } finally {
    process.off('warning', onWarning);
  }
});

test.run();

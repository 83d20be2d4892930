// Config.resume and parsl-ts run --resume on the thread executor: the run directory, resume's
// defaults, task ids across drivers, and the errors for nothing to resume.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, clear, Config, ConfigError, dfk, load, MonitoringHub, ThreadPoolExecutor } from '../src/index.ts';
import { loadSqlite } from '../src/common/sqlite.ts';
import { deadline, rejection, tempDir } from './helpers.ts';

const work = tempDir();
test.after.each(() => clear());
test.after(() => work.remove());

/** Appends a line to `path` each time it runs, so that a test can tell whether it ran. */
function counting(name: string, cache: boolean | undefined) {
  return app(
    async (path: string, x: number) => {
      const fs = await import('node:fs');
      fs.appendFileSync(path, 'ran\n');
      return x * 3;
    },
    cache === undefined ? { name } : { name, cache },
  );
}
const cached = counting('cached', true);
const optedOut = counting('optedOut', false);
const unsaid = counting('unsaid', undefined);

function runs(path: string): number {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0;
}

const threads = () => [new ThreadPoolExecutor({ maxThreads: 2 })];

test('resume - goes on in the run directory it resumes, with task_exit checkpoints and every app cached unless cache: false', async () => {
  const runDir = join(work.path, 'a');
  const marks = { cached: join(work.path, 'a-cached'), optedOut: join(work.path, 'a-out'), unsaid: join(work.path, 'a-unsaid') };
  const first = load(new Config({ executors: threads(), runDir, checkpointMode: 'task_exit' }));
  assert.is(await deadline(cached(marks.cached, 1)), 3);
  await deadline(unsaid(marks.unsaid, 1));
  const firstRun = first.runDir;
  await clear();

  const resumed = load(new Config({ executors: threads(), runDir, resume: 'latest' }));
  assert.is(resumed.runDir, firstRun, 'the resumed run works in the run directory of the run it resumes');
  assert.equal(readdirSync(runDir), ['000'], 'no new run directory');
  assert.is(resumed.config.checkpointMode, 'task_exit', 'resume defaults checkpointMode to task_exit');
  const again = cached(marks.cached, 1);
  assert.ok(again.tid > 2, `task ids go on after the first driver's (${again.tid})`);
  assert.is(await deadline(again), 3);
  assert.is(again.state, 'memo_done', 'a finished call ends memo_done');
  assert.is(runs(marks.cached), 1, 'and does not run again');
  // Not cached in the first run (no cache option): it runs, and is cached from now on.
  assert.is(await deadline(unsaid(marks.unsaid, 1)), 3);
  assert.is(await deadline(unsaid(marks.unsaid, 1)), 3);
  assert.is(runs(marks.unsaid), 2, 'an app without a cache option is cached in a resumed run');
  await deadline(optedOut(marks.optedOut, 1));
  await deadline(optedOut(marks.optedOut, 1));
  assert.is(runs(marks.optedOut), 2, 'cache: false opts out');
  assert.equal(resumed.taskStateCounts, { memo_done: 2, exec_done: 3 });
});

test('resume - monitoring records the apps a resumed run caches by default as memoized (task_memoize)', async () => {
  const runDir = join(work.path, 'monitored');
  const marks = join(work.path, 'monitored-marks');
  load(new Config({ executors: threads(), runDir }));
  await deadline(unsaid(marks, 1));
  await clear();
  load(new Config({ executors: threads(), runDir, resume: 'latest', monitoring: new MonitoringHub({}) }));
  const runId = dfk().runId;
  const ids = { unsaid: unsaid(marks, 2).tid, optedOut: optedOut(marks, 2).tid, cached: cached(marks, 2).tid };
  await clear();
  const Sqlite = loadSqlite('monitoring');
  const db = new Sqlite(join(runDir, 'monitoring.db'), { readonly: true });
  try {
    const memoize = (id: number) => (db.prepare('SELECT task_memoize FROM task WHERE run_id = ? AND task_id = ?').get(runId, id) as { task_memoize: string }).task_memoize;
    assert.is(memoize(ids.unsaid), '1', 'an app without a cache option is memoized in a resumed run');
    assert.is(memoize(ids.cached), '1');
    assert.is(memoize(ids.optedOut), '0', 'cache: false opts out');
  } finally {
    db.close();
  }
});

test('resume - a run directory by path, and PARSL_TS_RESUME (what parsl-ts run --resume sets) for a config that names none', async () => {
  const runDir = join(work.path, 'b');
  const mark = join(work.path, 'b-mark');
  const first = load(new Config({ executors: threads(), runDir, checkpointMode: 'task_exit' }));
  await deadline(cached(mark, 2));
  const path = first.runDir;
  await clear();
  load(new Config({ executors: threads(), runDir, resume: path }));
  assert.is(await deadline(cached(mark, 2)), 6);
  await clear();
  process.env.PARSL_TS_RESUME = 'latest';
  try {
    const byEnvironment = load(new Config({ executors: threads(), runDir }));
    assert.is(byEnvironment.runDir, path);
    assert.is(await deadline(cached(mark, 2)), 6);
  } finally {
    delete process.env.PARSL_TS_RESUME;
  }
  assert.is(runs(mark), 1, 'the call ran once over three drivers');
});

test('resume - nothing to resume is a ConfigError naming Config.resume and what was looked for', async () => {
  const empty = join(work.path, 'empty');
  const error = await rejection(Promise.resolve().then(() => load(new Config({ executors: threads(), runDir: empty, resume: 'latest' }))), (e) => e instanceof ConfigError);
  assert.match(error.message, /^Config\.resume: 'latest' found no run directory in .*empty \(nothing to resume\)/);
  const file = join(work.path, 'not-a-dir');
  writeFileSync(file, '');
  const notDir = await rejection(Promise.resolve().then(() => load(new Config({ executors: threads(), resume: file }))), (e) => e instanceof ConfigError);
  assert.match(notDir.message, /^Config\.resume: .*not-a-dir is not a directory/);
  const bad = await rejection(Promise.resolve().then(() => new Config({ resume: '' })), (e) => e instanceof ConfigError);
  assert.match(bad.message, /resume/);
});

test.run();

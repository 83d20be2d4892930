// The monitoring actor wired to the DFK: a real run on the thread executor, then its database read with SQL.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { app, bashApp, clear, Config, dfk, File, joinApp, load, MonitoringHub, ThreadPoolExecutor } from '../src/index.ts';
import { crashMonitorForTest } from '../src/internal.ts';
import { loadSqlite } from '../src/common/sqlite.ts';
import { progressCounts, startProgress } from '../src/kernel/progress.ts';
import { deadline, tempDir } from './helpers.ts';

const work = tempDir();
test.after(() => work.remove());

function open(path: string) {
  const Sqlite = loadSqlite('monitoring');
  return new Sqlite(path, { readonly: true });
}

test('monitoring - a run with failures, a retry, a dependency failure, a memo hit and a bash app is in the database', async () => {
  const runDir = join(work.path, 'runs');
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })], runDir, retries: 1, progress: false,
    monitoring: new MonitoringHub({ workflowName: 'wiring', workflowVersion: 'v1' }) }));
  const runId = dfk().runId;
  const runPath = dfk().runDir;
  const double = app((x: number) => x * 2, { cache: true, name: 'double' });
  const fail = app((message: string): number => {
    throw new RangeError(message);
  }, { name: 'fail' });
  const echo = bashApp((word: string, _o: { stdout: string }) => `echo ${word}`, { name: 'echo' });
  const stdout = join(work.path, 'echo.out');

  assert.is(await deadline(double(21), 30_000), 42);
  const memo = double(21);
  assert.is(await deadline(memo, 30_000), 42);
  const bad = fail('broken on purpose');
  const dependent = double(bad as never);
  await deadline(Promise.allSettled([bad, dependent]), 30_000);
  assert.is(await deadline(echo('hello', { stdout }), 30_000), 0);
  assert.is(memo.state, 'memo_done');
  assert.is(dependent.state, 'dep_fail');
  await clear();

  const db = open(join(runDir, 'monitoring.db'));
  try {
    const workflow = db.prepare('SELECT * FROM workflow WHERE run_id = ?').get(runId) as Record<string, unknown>;
    assert.is(workflow.workflow_name, 'wiring');
    assert.is(workflow.workflow_version, 'v1');
    assert.is(workflow.rundir, runPath);
    assert.ok(workflow.time_completed, 'workflow end recorded');
    assert.is(workflow.tasks_completed_count, 3);
    assert.is(workflow.tasks_failed_count, 2);

    const tasks = db.prepare('SELECT task_id, task_func_name, task_state, task_memoize, task_hashsum, task_depends, task_stdout FROM task WHERE run_id = ? ORDER BY task_id').all(runId) as Record<string, any>[];
    assert.equal(tasks.map((t) => [t.task_func_name, t.task_state]), [
      ['double', 'exec_done'], ['double', 'memo_done'], ['fail', 'failed'], ['double', 'dep_fail'], ['echo', 'exec_done'],
    ]);
    assert.is(tasks[0]!.task_memoize, '1');
    assert.ok(tasks[0]!.task_hashsum && tasks[0]!.task_hashsum === tasks[1]!.task_hashsum, 'memo key recorded');
    assert.is(String(tasks[3]!.task_depends), String(tasks[2]!.task_id));
    assert.is(tasks[4]!.task_stdout, stdout);

    const states = (id: number) => (db.prepare('SELECT task_status_name FROM status WHERE run_id = ? AND task_id = ? ORDER BY timestamp').all(runId, id) as { task_status_name: string }[]).map((r) => r.task_status_name);
    // 'running' is reported by the worker and may come after the outcome: left out here.
    assert.equal(states(tasks[2]!.task_id).filter((s) => s !== 'running'), ['pending', 'launched', 'fail_retryable', 'launched', 'failed']);
    assert.equal(states(tasks[3]!.task_id), ['pending', 'dep_fail']);
    assert.equal(states(tasks[1]!.task_id), ['pending', 'memo_done']);

    const tries = db.prepare('SELECT try_id, task_executor, task_fail_class, task_fail_message, task_try_time_launched, task_try_time_returned FROM try WHERE run_id = ? AND task_id = ? ORDER BY try_id').all(runId, tasks[2]!.task_id) as Record<string, any>[];
    assert.is(tries.length, 2, 'one try and its retry');
    for (const t of tries) {
      assert.is(t.task_fail_class, 'RangeError');
      assert.match(t.task_fail_message, 'broken on purpose');
      assert.ok(t.task_try_time_launched && t.task_try_time_returned);
      assert.is(t.task_executor, 'threads');
    }
    const ok = db.prepare('SELECT task_try_time_returned, task_fail_class FROM try WHERE run_id = ? AND task_id = ?').get(runId, tasks[0]!.task_id) as Record<string, any>;
    assert.ok(ok.task_try_time_returned);
    assert.is(ok.task_fail_class, null);
  } finally {
    db.close();
  }
});

test("monitoring - a task's arguments summary and inputs, and a join app's joined tasks, are in the database", async () => {
  const runDir = join(work.path, 'args');
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })], runDir, progress: false, monitoring: new MonitoringHub() }));
  const runId = dfk().runId;
  const add = app((a: number, b: string, _o?: { inputs?: unknown[] }) => a + b.length, { name: 'add' });
  const fan = joinApp((n: number) => Array.from({ length: n }, (_, i) => add(i, 'x')), { name: 'fan' });
  const first = add(1, 'one');
  const long = 'a string longer than forty characters, cut in the summary';
  const second = add(first as never, long, { inputs: [new File('file:///data/in.txt'), first] });
  assert.is(await deadline(second, 30_000), 4 + long.length);
  const joined = fan(2);
  assert.equal(await deadline(joined, 30_000), [1, 2]);
  await clear();

  const db = open(join(runDir, 'monitoring.db'));
  try {
    const task = (id: number) => db.prepare('SELECT task_args_summary, task_inputs FROM task WHERE run_id = ? AND task_id = ?').get(runId, id) as Record<string, any>;
    assert.is(task(first.tid).task_args_summary, '(1, "one")');
    assert.is(task(first.tid).task_inputs, null);
    assert.is(task(second.tid).task_args_summary, `(<task ${first.tid}>, "${long.slice(0, 40)}…", {inputs: Array(2)})`);
    assert.equal(JSON.parse(task(second.tid).task_inputs), ['file:///data/in.txt', `<task ${first.tid}>`]);
    const joins = db.prepare('SELECT task_joins FROM try WHERE run_id = ? AND task_id = ?').get(runId, joined.tid) as { task_joins: string };
    const inner = (db.prepare("SELECT task_id FROM task WHERE run_id = ? AND task_func_name = 'add' AND task_id > ? ORDER BY task_id").all(runId, joined.tid) as { task_id: number }[]).map((r) => r.task_id);
    assert.is(inner.length, 2);
    assert.is(joins.task_joins, inner.join(','));
  } finally {
    db.close();
  }
});

test('monitoring - a crash of the monitoring actor mid-run loses no task and no event', async () => {
  const runDir = join(work.path, 'crash');
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })], runDir, progress: false, monitoring: new MonitoringHub() }));
    const runId = dfk().runId;
    const inc = app((x: number) => x + 1);
    const first = Array.from({ length: 50 }, (_, i) => inc(i));
    await deadline(Promise.all(first), 30_000);
    crashMonitorForTest(1);
    const second = Array.from({ length: 50 }, (_, i) => inc(i));
    assert.equal(await deadline(Promise.all(second), 30_000), Array.from({ length: 50 }, (_, i) => i + 1));
    await clear();
    await new Promise((resolve) => setImmediate(resolve));
    const restart = warnings.find((w) => w.includes('monitoring actor was restarted'));
    assert.ok(restart, warnings.join('\n'));
    assert.match(restart!, '0 monitoring event(s) lost');
    const db = open(join(runDir, 'monitoring.db'));
    try {
      const count = (sql: string) => (db.prepare(sql).get(runId) as { n: number }).n;
      assert.is(count('SELECT count(*) AS n FROM task WHERE run_id = ?'), 100);
      assert.is(count(`SELECT count(*) AS n FROM task WHERE run_id = ? AND task_state = 'exec_done'`), 100);
      assert.is(count(`SELECT count(*) AS n FROM status WHERE run_id = ? AND task_status_name = 'exec_done'`), 100);
      assert.is(count('SELECT count(*) AS n FROM try WHERE run_id = ? AND task_try_time_returned IS NOT NULL'), 100);
      assert.is(count('SELECT tasks_completed_count AS n FROM workflow WHERE run_id = ?'), 100);
    } finally {
      db.close();
    }
  } finally {
    process.off('warning', onWarning);
  }
});

test('progress - the DFK states as the line counts them; no line when stdout is not a terminal or progress is off', () => {
  assert.equal(progressCounts({ pending: 1, launched: 2, running: 3, joining: 1, exec_done: 4, memo_done: 1, failed: 2, dep_fail: 1 }),
    { done: 5, running: 4, pending: 3, failed: 3 });
  const tty = process.stdout.isTTY;
  try {
    (process.stdout as { isTTY: boolean }).isTTY = false;
    assert.is(startProgress(new Config({ progress: true }), () => ({})), undefined);
    (process.stdout as { isTTY: boolean }).isTTY = true;
    assert.is(startProgress(new Config({ progress: false }), () => ({})), undefined);
    const line = startProgress(new Config({ progress: true }), () => ({ exec_done: 1 }));
    assert.ok(line, 'a line on a terminal');
    line!.close();
  } finally {
    (process.stdout as { isTTY: boolean | undefined }).isTTY = tty;
  }
});

test.run();

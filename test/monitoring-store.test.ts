import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MonitoringDatabase } from '../src/monitoring/database.ts';
import { formatTime, parseTime } from '../src/monitoring/schema.ts';
import { MonitoringWriter } from '../src/monitoring/writer.ts';
import { tempDir } from './helpers.ts';
import { emptyRun, syntheticRun } from './support/monitoring-run.ts';

const Sqlite = createRequire(import.meta.url)('better-sqlite3');
const dir = tempDir('parsl-ts-monitoring-');
const path = join(dir.path, 'runinfo', 'monitoring.db');
const run = emptyRun();
let commits = 0;
let events = 0;
{
  const writer = MonitoringWriter.open(path, { onCommit: () => commits++ });
  for (const event of syntheticRun({ samples: 100, logDir: join(dir.path, 'logs') }, run)) {
    writer.write(event);
    events++;
  }
  writer.close();
}
const sql = new Sqlite(path, { readonly: true });
const one = (query: string, ...args: unknown[]) => sql.prepare(query).pluck().get(...args);
/** A read-only connection to another database of this file, closed with the file's. */
const others: (typeof sql)[] = [];
const db2 = (p: string) => {
  const d = new Sqlite(p, { readonly: true });
  others.push(d);
  return d;
};

/** Parsl's parsl/monitoring/db_manager.py, column for column. */
const PARSL_COLUMNS: Record<string, string[]> = {
  workflow: ['run_id', 'workflow_name', 'workflow_version', 'time_began', 'time_completed', 'host', 'user', 'rundir', 'tasks_failed_count', 'tasks_completed_count'],
  status: ['task_id', 'task_status_name', 'timestamp', 'run_id', 'try_id'],
  task: ['task_id', 'run_id', 'task_depends', 'task_func_name', 'task_memoize', 'task_hashsum', 'task_inputs', 'task_outputs', 'task_stdin', 'task_stdout', 'task_stderr', 'task_time_invoked', 'task_time_returned', 'task_fail_count', 'task_fail_cost'],
  try: ['try_id', 'task_id', 'run_id', 'block_id', 'hostname', 'task_executor', 'task_try_time_launched', 'task_try_time_running', 'task_try_time_returned', 'task_fail_history', 'task_joins'],
  node: ['id', 'run_id', 'hostname', 'uid', 'block_id', 'cpu_count', 'total_memory', 'active', 'worker_count', 'python_v', 'timestamp', 'last_heartbeat'],
  block: ['run_id', 'executor_label', 'block_id', 'job_id', 'timestamp', 'status'],
  resource: ['try_id', 'task_id', 'run_id', 'timestamp', 'resource_monitoring_interval', 'psutil_process_pid', 'psutil_process_cpu_percent', 'psutil_process_memory_percent', 'psutil_process_children_count', 'psutil_process_time_user', 'psutil_process_time_system', 'psutil_process_memory_virtual', 'psutil_process_memory_resident', 'psutil_process_disk_read', 'psutil_process_disk_write', 'psutil_process_status'],
};

test("Parsl's tables and columns, in Parsl's order (ours only after them)", () => {
  for (const [table, columns] of Object.entries(PARSL_COLUMNS)) {
    const have = sql.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[];
    assert.equal(have.slice(0, columns.length), columns, table);
  }
  assert.is(sql.pragma('journal_mode', { simple: true }), 'wal');
});

test('batched: far fewer commits than events', () => {
  assert.ok(commits > 0 && commits <= Math.ceil(events / 1000) + 1, `${commits} commits for ${events} events`);
});

test('the workflow row: counts of completed and failed tasks, start and end', () => {
  const w = sql.prepare(`SELECT * FROM workflow`).get();
  assert.is(w.run_id, run.runId);
  assert.is(w.workflow_name, 'synthetic');
  assert.is(w.tasks_completed_count, run.finalStates['exec_done']! + run.finalStates['memo_done']!);
  assert.is(w.tasks_failed_count, run.finalStates['failed']! + run.finalStates['dep_fail']!);
  assert.ok(parseTime(w.time_completed) > parseTime(w.time_began));
  assert.match(w.time_began, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/); // SQLAlchemy's DateTime
});

test('tasks, tries, retries and failures, as SQL sees them', () => {
  assert.is(one(`SELECT count(*) FROM task`), run.tasks);
  assert.is(one(`SELECT count(*) FROM try`), run.tries);
  // A retried task: two tries, the first failed with its class and message, fail count 1.
  const retried = run.examples.retried;
  assert.is(one(`SELECT task_fail_count FROM task WHERE task_id = ?`, retried), 1);
  assert.equal(
    sql.prepare(`SELECT try_id, task_fail_history FROM try WHERE task_id = ? ORDER BY try_id`).raw().all(retried),
    [[0, 'ValueError: negative density in cell 3'], [1, null]],
  );
  assert.is(one(`SELECT count(*) FROM try WHERE task_fail_class = 'ValueError'`), run.failedTries.ValueError);
  assert.is(one(`SELECT count(*) FROM try WHERE task_fail_class = 'RuntimeError'`), run.failedTries.RuntimeError);
  assert.match(one(`SELECT task_fail_traceback FROM try WHERE task_id = ? AND try_id = 0`, retried), /at simulate \(file:/);
  // Final states: Parsl's status rows, and our task_state, agree with what the run did.
  const finals = sql.prepare(`SELECT task_state, count(*) FROM task GROUP BY task_state`).raw().all();
  assert.equal(Object.fromEntries(finals), run.finalStates);
  assert.is(one(`SELECT count(*) FROM status WHERE task_status_name = 'memo_done'`), run.finalStates['memo_done']);
  assert.is(one(`SELECT count(*) FROM status WHERE task_status_name = 'fail_retryable'`), run.failedTries.ValueError + run.failedTries.RuntimeError / 2);
  assert.is(one(`SELECT task_memoize FROM task WHERE task_id = ?`, run.examples.memo), '1');
  assert.is(one(`SELECT task_memoize FROM task WHERE task_id = ?`, run.examples.bash), '0');
});

test('dependencies, bash stdout/stderr, blocks, nodes, resources', () => {
  const sim = run.examples.retried;
  assert.is(one(`SELECT task_depends FROM task WHERE task_id = ?`, sim), String(sim - 1));
  assert.is(one(`SELECT task_depends FROM task WHERE task_id = ?`, run.examples.summarize)?.split(',').length, 100);
  assert.match(one(`SELECT task_stdout FROM task WHERE task_id = ?`, run.examples.bash), /task_0_generate\.stdout$/);
  assert.equal(sql.prepare(`SELECT status FROM block ORDER BY timestamp`).pluck().all(), ['PENDING', 'RUNNING', 'COMPLETED']);
  assert.is(one(`SELECT cpu_count FROM node`), 4);
  // Two samples per bash try, the last at its end; none for thread-pool tries.
  assert.is(one(`SELECT count(*) FROM resource`), 2 * 100);
  assert.is(one(`SELECT count(*) FROM resource r JOIN try y USING (try_id, task_id, run_id) WHERE y.task_executor = 'threads'`), 0);
  // The final sample is taken as the try ends (Parsl's #2177: the last one was missing).
  const gapMs = one(`SELECT (julianday(y.task_try_time_returned) - julianday(max(r.timestamp))) * 86400000 FROM resource r
    JOIN try y USING (try_id, task_id, run_id) WHERE r.task_id = 0`);
  assert.ok(gapMs >= 0 && gapMs < 1.5, `last sample ${gapMs} ms before the try returned`);
});

test('query API: workflows, apps, failures, graph, states over time, a task page', () => {
  const db = MonitoringDatabase.open(path);
  try {
    const [w] = db.workflows();
    assert.is(w!.tasks, run.tasks);
    assert.equal(w!.byState, run.finalStates);
    const apps = Object.fromEntries(db.apps(run.runId).map((a) => [a.funcName, a]));
    assert.is(apps['generate']!.count, 100);
    assert.ok(apps['generate']!.medianMs! > 0 && apps['generate']!.p95Ms! >= apps['generate']!.medianMs!);
    const failures = db.failures(run.runId);
    assert.equal(failures.map((f) => [f.errorClass, f.tries, f.finallyFailed]), [
      ['ValueError', run.failedTries.ValueError, 0],
      ['RuntimeError', run.failedTries.RuntimeError, run.finalStates['failed']],
    ]);
    assert.ok(failures[1]!.messages[0]!.taskIds.includes(run.examples.failed));
    const diverged = failures[1]!.messages.reduce((n, m) => n + m.tasks, 0);
    assert.is(diverged, run.finalStates['failed']); // two tries each, counted once per task
    const graph = db.taskGraph(run.runId);
    assert.is(graph.level, 'task');
    assert.is(graph.nodes.length, run.tasks);
    assert.ok(graph.edges.some((e) => e.source === String(run.examples.retried) && e.target === String(run.examples.retried + 1)));
    const apps10 = db.taskGraph(run.runId, 10);
    assert.is(apps10.level, 'app');
    assert.equal(
      apps10.edges.map((e) => `${e.source}>${e.target}:${e.count}`).sort(),
      ['analyze>summarize:100', 'generate>simulate:100', 'simulate>analyze:100'],
    );
    assert.is(apps10.nodes.find((n) => n.id === 'simulate')!.state, 'failed');
    const states = db.statesOverTime(run.runId, 50);
    const last = Object.fromEntries(states.states.map((s, i) => [s, states.counts[i]![states.times.length - 1]]));
    for (const [state, count] of Object.entries(run.finalStates)) assert.is(last[state], count, state);
    assert.is(last['running'] ?? 0, 0);
    // The same from the writer's per-second counts (what a big run uses).
    const coarse = db.statesOverTime(run.runId, 50, 0);
    const end = Object.fromEntries(coarse.states.map((s, i) => [s, coarse.counts[i]![coarse.times.length - 1]]));
    for (const [state, count] of Object.entries(run.finalStates)) assert.is(end[state], count, state);
    assert.is(end['running'] ?? 0, 0);
    const task = db.task(run.runId, run.examples.bash)!;
    assert.match(task.stdout!.tail, /generating sample 0/);
    assert.match(task.stderr!.tail, /warning: sample 0 is synthetic/);
    const failed = db.task(run.runId, run.examples.failed)!;
    assert.equal(failed.tries.map((t) => t.errorClass), ['RuntimeError', 'RuntimeError']);
    assert.is(failed.state, 'failed');
    const { tries, total } = db.timeline(run.runId);
    assert.is(total, run.tries);
    assert.is(tries.length, run.tries);
    const resources = db.resources(run.runId);
    assert.is(resources.series.length, 4);
    assert.is(resources.series.reduce((n, s) => n + s.points.length, 0), 200);
    // Summed up per time bucket past maxPoints: every process keeps a series, peaks kept.
    const bucketed = db.resources(run.runId, 40);
    assert.is(bucketed.series.length, 4);
    const peak = (points: [number, number | null, number | null][]) => Math.max(...points.map((p) => p[1]!));
    for (const s of bucketed.series) {
      assert.ok(s.points.length > 0 && s.points.length < 50, `${s.points.length} points`);
      assert.is(peak(s.points), peak(resources.series.find((r) => r.pid === s.pid)!.points));
    }
  } finally {
    db.close();
  }
});

test('tasks and tries written in one batch (each one row, written at its end) equal the same written event by event', () => {
  // batchSize 1: each event its own transaction, so nothing is folded; the rows must not differ.
  const onePath = join(dir.path, 'one-by-one.db');
  const writer = MonitoringWriter.open(onePath, { batchSize: 1 });
  for (const event of syntheticRun({ samples: 100, logDir: join(dir.path, 'logs') }, emptyRun())) writer.write(event);
  writer.close();
  const other = new Sqlite(onePath, { readonly: true });
  try {
    for (const [table, order] of [['try', 'run_id, task_id, try_id'], ['task', 'run_id, task_id'], ['status', 'run_id, task_id, timestamp']]) {
      const rows = (db: typeof sql) => db.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).raw().all();
      const batched = rows(sql);
      assert.ok(batched.length > 100, `${table}: ${batched.length} rows`);
      assert.equal(batched, rows(other), table);
    }
    // The synthetic run has tries whose start and return came in the batch of their launch.
    assert.ok(one(`SELECT count(*) FROM try WHERE task_try_time_running IS NOT NULL AND task_try_time_returned IS NOT NULL`) > 100);
  } finally {
    other.close();
  }
});

test("a task's states within one tick of the millisecond clock keep their order (status has no rowid)", () => {
  const orderPath = join(dir.path, 'order.db');
  const writer = MonitoringWriter.open(orderPath);
  const runId = 'order-run';
  const time = Date.UTC(2026, 10, 30, 12, 0, 0, 5);
  writer.write({ type: 'workflow-start', runId, time, host: 'h', user: 'u', rundir: '/r' });
  writer.write({ type: 'task-submitted', runId, taskId: 1, time, funcName: 'f', memoize: false, depends: [] });
  for (const state of ['pending', 'launched', 'running', 'exec_done']) writer.write({ type: 'task-state', runId, taskId: 1, tryId: 0, time, state });
  writer.write({ type: 'task-state', runId, taskId: 1, tryId: 0, time, state: 'exec_done' }); // a repeat: no row
  writer.close();
  const db = new Sqlite(orderPath, { readonly: true });
  try {
    const rows = db.prepare(`SELECT task_status_name, timestamp FROM status WHERE run_id = ? ORDER BY timestamp`).raw().all(runId);
    assert.equal(rows, [
      ['pending', '2026-11-30 12:00:00.005000'],
      ['launched', '2026-11-30 12:00:00.005001'],
      ['running', '2026-11-30 12:00:00.005002'],
      ['exec_done', '2026-11-30 12:00:00.005003'],
    ]);
  } finally {
    db.close();
  }
});

test('a file of layout 1 (rowid tables, their indexes) is written as it is and reads the same', () => {
  const oldPath = join(dir.path, 'layout-1.db');
  const old = new Sqlite(oldPath);
  old.exec(`
    CREATE TABLE status (task_id INTEGER NOT NULL, task_status_name TEXT NOT NULL, timestamp DATETIME NOT NULL, run_id TEXT NOT NULL,
      try_id INTEGER NOT NULL, PRIMARY KEY (run_id, task_id, task_status_name, timestamp));
    CREATE TABLE task (task_id INTEGER NOT NULL, run_id TEXT NOT NULL, task_depends TEXT, task_func_name TEXT NOT NULL, task_memoize TEXT NOT NULL,
      task_hashsum TEXT, task_inputs TEXT, task_outputs TEXT, task_stdin TEXT, task_stdout TEXT, task_stderr TEXT, task_time_invoked DATETIME,
      task_time_returned DATETIME, task_fail_count INTEGER NOT NULL, task_fail_cost FLOAT NOT NULL, task_state TEXT, task_args_summary TEXT,
      PRIMARY KEY (task_id, run_id));
    CREATE TABLE try (try_id INTEGER NOT NULL, task_id INTEGER NOT NULL, run_id TEXT NOT NULL, block_id TEXT, hostname TEXT,
      task_executor TEXT NOT NULL, task_try_time_launched DATETIME, task_try_time_running DATETIME, task_try_time_returned DATETIME,
      task_fail_history TEXT, task_joins TEXT, task_fail_class TEXT, task_fail_message TEXT, task_fail_traceback TEXT,
      PRIMARY KEY (run_id, task_id, try_id));
    CREATE INDEX ix_task_run_state ON task (run_id, task_state);
    CREATE INDEX ix_task_run_app ON task (run_id, task_func_name);
    PRAGMA application_id = 1347702095;
    PRAGMA user_version = 1;`);
  old.close();
  const writer = MonitoringWriter.open(oldPath);
  const oldRun = emptyRun();
  for (const event of syntheticRun({ samples: 100, logDir: join(dir.path, 'logs') }, oldRun)) writer.write(event);
  writer.close();
  const db = new Sqlite(oldPath, { readonly: true });
  try {
    assert.is(db.pragma('user_version', { simple: true }), 1, 'the layout is not re-labelled');
    assert.ok(db.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'ix_task_run_state'`).pluck().get() === 1);
    assert.is(db.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'status'`).pluck().get().includes('WITHOUT ROWID'), false);
    for (const [table, order] of [['try', 'task_id, try_id'], ['task', 'task_id'], ['status', 'task_id, timestamp']]) {
      const rows = (d: typeof sql, runId: string) =>
        d.prepare(`SELECT * FROM ${table} WHERE run_id = ? ORDER BY ${order}`).raw().all(runId).map((r: unknown[]) => r.filter((v) => v !== runId));
      assert.equal(rows(db, oldRun.runId), rows(sql, run.runId), table);
    }
  } finally {
    db.close();
  }
  const reader = MonitoringDatabase.open(oldPath);
  try {
    const [w] = reader.workflows();
    assert.equal(w!.byState, { ...oldRun.finalStates }, "counts from parsl_ts_state_changes");
    const fromRows = Object.fromEntries(db2(oldPath).prepare(`SELECT task_state, count(*) FROM task GROUP BY task_state`).raw().all());
    assert.equal(w!.byState, fromRows, "the same as the task rows say");
  } finally {
    reader.close();
  }
});

test('times: SQLAlchemy text, microseconds kept', () => {
  const t = Date.UTC(2026, 10, 30, 12, 41, 39, 123) + 0.456;
  assert.is(formatTime(t), '2026-11-30 12:41:39.123456');
  assert.is(parseTime(formatTime(t)), t);
});

test.after(() => {
  for (const d of others) d.close();
  sql.close();
  dir.remove();
});
test.run();

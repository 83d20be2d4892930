import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError } from '../common/errors.ts';
import { parseTime } from './schema.ts';
export type * from './database-types.ts';
import { loadSqlite, type SqliteDatabase } from '../common/sqlite.ts';
import type {
  AppSummary, FailureGroup, FileTail, Resources, ResourceSeries, TaskDetails, TaskGraph, TaskTry, TimelineTry, WorkflowSummary,
} from './database-types.ts';
import { accumulateStates, assignLanes, idList, quantile, type StatesOverTime } from './views.ts';

/**
 * Reads a monitoring database (ours, or one Parsl wrote: the columns are Parsl's) and
 * returns plain objects for the dashboard's views, for notebooks and scripts. Times are
 * milliseconds since the epoch (NaN-free: a missing time is `null`).
 *
 * The connection is read-only and the file is in WAL mode: each query reads the last
 * committed state while a run writes, neither side waiting on the other.
 */

/** A stored time as ms since the epoch, computed by SQLite (parsing 500k strings in JS costs seconds). */
const ms = (column: string): string => `CAST(round((julianday(${column}) - 2440587.5) * 86400000.0) AS INTEGER)`;

const time = (text: unknown): number | null => {
  const t = parseTime(text as string | null);
  return Number.isNaN(t) ? null : t;
};

/** How much of stdout/stderr a task page shows. */
const TAIL_BYTES = 4096;

/**
 * Read-only queries on a monitoring database (Parsl's schema), as the dashboard makes them: for scripts and notebooks. Times are ms since the epoch.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * for (const run of db.workflows()) console.log(run.runId, run.tasks, run.byState);
 * db.close();
 * ```
 */
export class MonitoringDatabase {
  /** The database file. */
  readonly path: string;
  readonly #db: SqliteDatabase;

  private constructor(path: string, db: SqliteDatabase) {
    this.path = path;
    this.#db = db;
  }

  /** Opens the database at `path` read-only; throws a ConfigError if it is missing or not one. */
  static open(path: string): MonitoringDatabase {
    if (!existsSync(path)) throw new ConfigError('db', `no monitoring database at ${path}`);
    const Sqlite = loadSqlite('monitoring');
    const db = new Sqlite(path, { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
      for (const t of ['workflow', 'task', 'try', 'status']) {
        if (!tables.includes(t)) throw new ConfigError('db', `${path} is not a monitoring database (no '${t}' table)`);
      }
    } catch (error) {
      db.close();
      throw error;
    }
    return new MonitoringDatabase(path, db);
  }

  /** Changes when another connection commits: the dashboard polls it to know when to refresh. */
  changeToken(): number {
    return this.#db.pragma('data_version', { simple: true }) as number;
  }

  #hasColumn(table: string, column: string): boolean {
    return (this.#db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`).get(table, column) ?? false) !== false;
  }

  /** Every run in the database, newest first. */
  workflows(): WorkflowSummary[] {
    const rows = this.#db.prepare(`SELECT * FROM workflow ORDER BY time_began DESC`).all() as Record<string, unknown>[];
    const counts = this.#stateCounts();
    return rows.map((row) => summary(row, counts.get(row['run_id'] as string) ?? {}));
  }

  /** One run, by its `runId`; `undefined` if it is not in the database. */
  workflow(runId: string): WorkflowSummary | undefined {
    const row = this.#db.prepare(`SELECT * FROM workflow WHERE run_id = ?`).get(runId) as Record<string, unknown> | undefined;
    return row && summary(row, this.#stateCounts(runId).get(runId) ?? {});
  }

  /**
   * Latest state of each task, counted per run: the sums of our `parsl_ts_state_changes` (a few
   * rows per second of the run), else from our `task_state`, else from Parsl's `status` rows.
   */
  #stateCounts(runId?: string): Map<string, Record<string, number>> {
    const where = runId === undefined ? '' : 'WHERE run_id = ?';
    const args = runId === undefined ? [] : [runId];
    const out = new Map<string, Record<string, number>>();
    const add = (rows: [string, string, number][]) => {
      for (const [run, state, count] of rows) {
        const byState = out.get(run) ?? {};
        byState[state] = (byState[state] ?? 0) + count;
        out.set(run, byState);
      }
    };
    if (this.#hasTable('parsl_ts_state_changes')) {
      add(this.#db.prepare(`SELECT run_id, state, sum(delta) FROM parsl_ts_state_changes ${where} GROUP BY run_id, state HAVING sum(delta) <> 0`).raw().all(...args) as [string, string, number][]);
    }
    // Runs the table does not know (a Parsl database, or a run of a writer before it) are counted from their rows.
    const known = [...out.keys()];
    const others = `${where === '' ? 'WHERE' : `${where} AND`} run_id NOT IN (SELECT value FROM json_each(?))`;
    const sql = this.#hasColumn('task', 'task_state')
      ? `SELECT run_id, coalesce(task_state, 'pending'), count(*) FROM task ${others} GROUP BY run_id, task_state`
      : `SELECT run_id, task_status_name, count(*) FROM (SELECT run_id, task_id, task_status_name, max(timestamp) FROM status ${others}
         GROUP BY run_id, task_id) GROUP BY run_id, task_status_name`;
    add(this.#db.prepare(sql).raw().all(...args, JSON.stringify(known)) as [string, string, number][]);
    return out;
  }

  /** Every try (up to `limit`, the latest launched first kept), in worker lanes per executor/block/host. */
  timeline(runId: string, limit = 5000): { tries: TimelineTry[]; total: number } {
    const total = this.#db.prepare(`SELECT count(*) FROM try WHERE run_id = ?`).pluck().get(runId) as number;
    const failed = this.#hasColumn('try', 'task_fail_class') ? 'y.task_fail_class IS NOT NULL' : 'y.task_fail_history IS NOT NULL';
    const rows = this.#db
      .prepare(
        `SELECT y.task_id, y.try_id, t.task_func_name, y.task_executor, y.block_id, y.hostname, ${ms('y.task_try_time_launched')},
         ${ms('y.task_try_time_running')}, ${ms('y.task_try_time_returned')}, ${failed}
         FROM try y JOIN task t ON t.task_id = y.task_id AND t.run_id = y.run_id
         WHERE y.run_id = ? ORDER BY y.task_try_time_launched DESC LIMIT ?`,
      )
      .raw()
      .all(runId, limit) as unknown[][];
    const now = Date.now();
    const items = rows.map((r) => {
      const launched = r[6] as number | null;
      const running = r[7] as number | null;
      const returned = r[8] as number | null;
      const start = running ?? launched ?? now;
      return {
        taskId: r[0] as number, tryId: r[1] as number, funcName: r[2] as string, executor: r[3] as string,
        blockId: r[4] as string | null, hostname: r[5] as string | null, launched, running, returned, failed: r[9] === 1,
        group: `${r[3] as string}/${(r[4] as string | null) ?? '-'}/${(r[5] as string | null) ?? '-'}`,
        start, end: returned ?? now,
      };
    });
    const tries = assignLanes(items).map(({ start: _s, end: _e, ...rest }) => rest);
    return { tries, total };
  }

  /**
   * Tasks in each state over time, from the `status` rows: SQLite counts, per state and time
   * bucket, the tasks that entered it and the tasks that left it (a task leaves its previous
   * state when it enters the next), so that only states x buckets rows reach JavaScript.
   */
  statesOverTime(runId: string, points = 300, exactBelow = 50_000): StatesOverTime {
    if (this.#hasTable('parsl_ts_state_changes')) {
      const rows = this.#db.prepare(`SELECT count(*) FROM status WHERE run_id = ?`).pluck().get(runId) as number;
      if (rows >= exactBelow) return this.#statesBySecond(runId, points);
    }
    const [first, last] = this.#db
      .prepare(`SELECT julianday(min(timestamp)), julianday(max(timestamp)) FROM status WHERE run_id = ?`)
      .raw()
      .get(runId) as [number | null, number | null];
    if (first === null || last === null) return { times: [], states: [], counts: [] };
    const buckets = Math.max(2, points);
    const step = (last - first) / (buckets - 1) || 1 / 86_400_000;
    const deltas = this.#db
      .prepare(
        `WITH s AS (SELECT task_status_name AS state, CAST((julianday(timestamp) - ?) / ? AS INT) AS bucket,
           LAG(task_status_name) OVER (PARTITION BY task_id ORDER BY timestamp) AS previous FROM status WHERE run_id = ?)
         SELECT state, bucket, count(*) FROM s GROUP BY state, bucket
         UNION ALL SELECT previous, bucket, -count(*) FROM s WHERE previous IS NOT NULL GROUP BY previous, bucket`,
      )
      .raw()
      .all(first, step, runId) as [string, number, number][];
    const toMs = (julian: number) => Math.round((julian - 2440587.5) * 86_400_000);
    return accumulateStates(deltas, buckets, (i) => toMs(first + i * step));
  }

  /** From the writer's per-second counts (a second's resolution: for big runs). */
  #statesBySecond(runId: string, points: number): StatesOverTime {
    const rows = this.#db
      .prepare(`SELECT state, second, delta FROM parsl_ts_state_changes WHERE run_id = ? ORDER BY second`)
      .raw()
      .all(runId) as [string, number, number][];
    if (rows.length === 0) return { times: [], states: [], counts: [] };
    const first = rows[0]![1];
    const last = rows[rows.length - 1]![1];
    const buckets = Math.max(2, Math.min(points, last - first + 1));
    const step = (last - first) / (buckets - 1) || 1;
    const deltas = rows.map(([state, second, delta]): [string, number, number] => [state, Math.ceil((second - first) / step), delta]);
    return accumulateStates(deltas, buckets, (i) => Math.round((first + i * step) * 1000));
  }

  #hasTable(name: string): boolean {
    return this.#db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
  }

  /** The task graph, coloured by state; over `limit` tasks, the graph of apps instead. */
  taskGraph(runId: string, limit = 2000): TaskGraph {
    const tasks = this.#db.prepare(`SELECT count(*) FROM task WHERE run_id = ?`).pluck().get(runId) as number;
    if (tasks <= limit) {
      const rows = this.#db
        .prepare(`SELECT task_id, task_func_name, coalesce(task_state, 'pending'), task_depends FROM task WHERE run_id = ?`)
        .raw()
        .all(runId) as [number, string, string, string | null][];
      const nodes = rows.map(([id, name, state]) => ({ id: String(id), label: `${id} ${name}`, state, count: 1 }));
      const known = new Set(rows.map((r) => r[0]));
      const edges = rows.flatMap(([id, , , depends]) =>
        idList(depends).filter((d) => known.has(d)).map((d) => ({ source: String(d), target: String(id), count: 1 })),
      );
      return { level: 'task', nodes, edges, tasks: rows.length };
    }
    // Too many tasks to draw: one node per app, its colour the worst state among its tasks,
    // and an edge per pair of apps with a dependency between their tasks (joined in SQLite).
    const apps = new Map<string, { count: number; states: Set<string> }>();
    const byApp = this.#db
      .prepare(`SELECT task_func_name, coalesce(task_state, 'pending'), count(*) FROM task WHERE run_id = ? GROUP BY 1, 2`)
      .raw()
      .all(runId) as [string, string, number][];
    for (const [name, state, count] of byApp) {
      const app = apps.get(name) ?? { count: 0, states: new Set<string>() };
      app.count += count;
      app.states.add(state);
      apps.set(name, app);
    }
    const edges = this.#db
      .prepare(
        // CROSS JOIN keeps SQLite to this order (each task, its dependencies, their rows by
        // primary key); left to itself it chose to scan every task for every task.
        `SELECT d.task_func_name, t.task_func_name, count(*) FROM task t CROSS JOIN json_each('[' || t.task_depends || ']') j
         CROSS JOIN task d ON d.task_id = j.value AND d.run_id = t.run_id
         WHERE t.run_id = ? AND t.task_depends IS NOT NULL AND t.task_depends != '' GROUP BY 1, 2`,
      )
      .raw()
      .all(runId) as [string, string, number][];
    const worst = (states: Set<string>): string =>
      ['failed', 'dep_fail', 'running', 'launched', 'pending', 'exec_done', 'memo_done'].find((s) => states.has(s)) ?? [...states][0]!;
    return {
      level: 'app',
      nodes: [...apps].map(([name, a]) => ({ id: name, label: `${name} (${a.count})`, state: worst(a.states), count: a.count })),
      edges: edges.map(([source, target, count]) => ({ source, target, count })),
      tasks,
    };
  }

  /** Per app: tasks by state, and the median and p95 duration of its successful tries. */
  apps(runId: string, maxTries = 20_000): AppSummary[] {
    const out = new Map<string, AppSummary & { durations: number[] }>();
    const states = this.#db
      .prepare(`SELECT task_func_name, coalesce(task_state, 'pending'), count(*) FROM task WHERE run_id = ? GROUP BY 1, 2`)
      .raw()
      .all(runId) as [string, string, number][];
    for (const [name, state, count] of states) {
      const app = out.get(name) ?? { funcName: name, count: 0, byState: {}, medianMs: null, p95Ms: null, durations: [] };
      app.count += count;
      app.byState[state] = count;
      out.set(name, app);
    }
    const failed = this.#hasColumn('try', 'task_fail_class') ? 'y.task_fail_class' : 'y.task_fail_history';
    // Over maxTries tries, the quantiles are estimated from a sample: rows whose hashed task and
    // try ids fall under a threshold (a plain id % k would alias with the run's own period: with
    // three apps called in turn, every k-th task may belong to one app).
    const total = this.#db.prepare(`SELECT count(*) FROM try WHERE run_id = ?`).pluck().get(runId) as number;
    const every = Math.max(1, Math.ceil(total / maxTries));
    const tries = this.#db
      .prepare(
        `SELECT t.task_func_name, ${ms('y.task_try_time_returned')} - ${ms('coalesce(y.task_try_time_running, y.task_try_time_launched)')}
         FROM try y JOIN task t ON t.task_id = y.task_id AND t.run_id = y.run_id
         WHERE y.run_id = ? AND ((y.task_id * 8 + y.try_id) * 40503) % 65536 < ? AND y.task_try_time_returned IS NOT NULL AND ${failed} IS NULL`,
      )
      .raw()
      .iterate(runId, Math.floor(65536 / every)) as IterableIterator<[string, number]>;
    for (const [name, duration] of tries) out.get(name)?.durations.push(duration);
    return [...out.values()].map(({ durations, ...app }) => {
      durations.sort((a, b) => a - b);
      return { ...app, medianMs: durations.length ? quantile(durations, 0.5) : null, p95Ms: durations.length ? quantile(durations, 0.95) : null };
    });
  }

  /** Failed tries grouped by error class, then by message, with the tasks they hit. */
  failures(runId: string, idsPerMessage = 50): FailureGroup[] {
    const ours = this.#hasColumn('try', 'task_fail_class');
    const rows = this.#db
      .prepare(
        ours
          ? `SELECT y.task_fail_class, y.task_fail_message, y.task_id, t.task_state FROM try y
             JOIN task t ON t.task_id = y.task_id AND t.run_id = y.run_id
             WHERE y.run_id = ? AND y.task_fail_class IS NOT NULL ORDER BY y.task_id`
          : `SELECT NULL, task_fail_history, task_id, NULL FROM try WHERE run_id = ? AND task_fail_history IS NOT NULL ORDER BY task_id`,
      )
      .raw()
      .iterate(runId) as IterableIterator<[string | null, string | null, number, string | null]>;
    const groups = new Map<string, { tries: number; tasks: Set<number>; final: Set<number>; messages: Map<string, { count: number; tasks: number; last?: number; ids: number[] }> }>();
    for (const [klass, message, taskId, state] of rows) {
      // Parsl's own rows hold 'Class: message' (or a repr) in task_fail_history.
      const [errorClass, text] = klass !== null ? [klass, message ?? ''] : splitHistory(message ?? '');
      const group = groups.get(errorClass) ?? { tries: 0, tasks: new Set(), final: new Set(), messages: new Map() };
      group.tries++;
      group.tasks.add(taskId);
      if (state === 'failed') group.final.add(taskId);
      const m = group.messages.get(text) ?? { count: 0, tasks: 0, ids: [] };
      m.count++;
      // Rows come in task order: a task's tries are next to each other.
      if (m.last !== taskId) {
        m.tasks++;
        if (m.ids.length < idsPerMessage) m.ids.push(taskId);
        m.last = taskId;
      }
      group.messages.set(text, m);
      groups.set(errorClass, group);
    }
    return [...groups]
      .map(([errorClass, g]) => ({
        errorClass, tries: g.tries, tasks: g.tasks.size, finallyFailed: g.final.size,
        messages: [...g.messages].map(([message, m]) => ({ message, count: m.count, tasks: m.tasks, taskIds: m.ids })).sort((a, b) => b.count - a.count),
      }))
      .sort((a, b) => b.tries - a.tries);
  }

  /** One task: its call, tries (with errors and stacks), state changes and the tails of its stdout/stderr. */
  task(runId: string, taskId: number): TaskDetails | undefined {
    const t = this.#db.prepare(`SELECT * FROM task WHERE run_id = ? AND task_id = ?`).get(runId, taskId) as Record<string, unknown> | undefined;
    if (!t) return undefined;
    const tries = (this.#db.prepare(`SELECT * FROM try WHERE run_id = ? AND task_id = ? ORDER BY try_id`).all(runId, taskId) as Record<string, unknown>[]).map(
      (y): TaskTry => ({
        tryId: y['try_id'] as number, executor: y['task_executor'] as string, blockId: y['block_id'] as string | null,
        hostname: y['hostname'] as string | null, launched: time(y['task_try_time_launched']), running: time(y['task_try_time_running']),
        returned: time(y['task_try_time_returned']), errorClass: (y['task_fail_class'] as string | null | undefined) ?? null,
        message: (y['task_fail_message'] as string | null | undefined) ?? null, traceback: (y['task_fail_traceback'] as string | null | undefined) ?? null,
        failHistory: y['task_fail_history'] as string | null, joins: idList(y['task_joins'] as string | null),
      }),
    );
    const states = (this.#db.prepare(`SELECT task_status_name, timestamp, try_id FROM status WHERE run_id = ? AND task_id = ? ORDER BY timestamp`).raw().all(runId, taskId) as [string, string, number][]).map(
      ([state, at, tryId]) => ({ state, time: parseTime(at), tryId }),
    );
    return {
      runId, taskId, funcName: t['task_func_name'] as string,
      state: (t['task_state'] as string | null | undefined) ?? states[states.length - 1]?.state ?? null,
      depends: idList(t['task_depends'] as string | null), memoize: t['task_memoize'] === 1 || t['task_memoize'] === 'True' || t['task_memoize'] === '1',
      hashsum: t['task_hashsum'] as string | null, inputs: t['task_inputs'] as string | null, outputs: t['task_outputs'] as string | null,
      argsSummary: (t['task_args_summary'] as string | null | undefined) ?? null, invoked: time(t['task_time_invoked']),
      returned: time(t['task_time_returned']), failCount: t['task_fail_count'] as number, failCost: t['task_fail_cost'] as number,
      tries, states, stdout: tailOf(t['task_stdout'] as string | null), stderr: tailOf(t['task_stderr'] as string | null),
    };
  }

  /** Resource samples per host and process, with the nodes and blocks of the run. */
  resources(runId: string, maxPoints = 20_000): Resources {
    // Over maxPoints samples, each process's samples are summed up per time bucket: the
    // highest CPU and memory in the bucket (peaks are what a resource plot is read for).
    const [total, first, last] = this.#db
      .prepare(`SELECT count(*), julianday(min(timestamp)), julianday(max(timestamp)) FROM resource WHERE run_id = ?`)
      .raw()
      .get(runId) as [number, number | null, number | null];
    const join = `FROM resource r LEFT JOIN try y ON y.try_id = r.try_id AND y.task_id = r.task_id AND y.run_id = r.run_id WHERE r.run_id = ?`;
    const rows = (
      total <= maxPoints || first === null || last === null
        ? this.#db
            .prepare(`SELECT coalesce(y.hostname, '-'), r.psutil_process_pid, ${ms('r.timestamp')}, r.psutil_process_cpu_percent,
              r.psutil_process_memory_resident ${join} ORDER BY r.timestamp`)
            .raw()
            .iterate(runId)
        : this.#db
            .prepare(`SELECT coalesce(y.hostname, '-') AS host, r.psutil_process_pid AS pid, ${ms('min(r.timestamp)')},
              max(r.psutil_process_cpu_percent), max(r.psutil_process_memory_resident) ${join}
              GROUP BY host, pid, CAST((julianday(r.timestamp) - ?) / ? AS INT) ORDER BY 3`)
            .raw()
            .iterate(runId, first, ((last - first) || 1e-9) / Math.max(1, Math.floor(maxPoints / 8)))
    ) as IterableIterator<[string, number | null, number, number | null, number | null]>;
    const series = new Map<string, ResourceSeries>();
    for (const [hostname, pid, at, cpu, rss] of rows) {
      const key = `${hostname}/${pid ?? '-'}`;
      const s = series.get(key) ?? { hostname, pid, points: [] };
      s.points.push([at, cpu, rss]);
      series.set(key, s);
    }
    const nodes = (this.#db.prepare(`SELECT hostname, block_id, cpu_count, total_memory, worker_count, active, timestamp FROM node WHERE run_id = ? ORDER BY timestamp`).raw().all(runId) as unknown[][]).map(
      (r) => ({ hostname: r[0] as string, blockId: r[1] as string, cpuCount: r[2] as number, totalMemory: r[3] as number, workerCount: r[4] as number, active: r[5] === 1, time: time(r[6]) }),
    );
    const blocks = (this.#db.prepare(`SELECT executor_label, block_id, job_id, status, timestamp FROM block WHERE run_id = ? ORDER BY timestamp`).raw().all(runId) as unknown[][]).map(
      (r) => ({ executor: r[0] as string, blockId: r[1] as string, jobId: r[2] as string | null, status: r[3] as string, time: time(r[4]) }),
    );
    return { series: [...series.values()], nodes, blocks };
  }

  /** Closes the database file. */
  close(): void {
    this.#db.close();
  }
}

function summary(row: Record<string, unknown>, byState: Record<string, number>): WorkflowSummary {
  return {
    runId: row['run_id'] as string, workflowName: row['workflow_name'] as string | null, workflowVersion: row['workflow_version'] as string | null,
    timeBegan: time(row['time_began']), timeCompleted: time(row['time_completed']), host: row['host'] as string, user: row['user'] as string,
    rundir: row['rundir'] as string, tasksCompleted: row['tasks_completed_count'] as number, tasksFailed: row['tasks_failed_count'] as number,
    tasks: Object.values(byState).reduce((a, b) => a + b, 0), byState,
  };
}

/** 'ValueError: bad input' -> ['ValueError', 'bad input']; a text without a class -> ['Error', text]. */
function splitHistory(history: string): [string, string] {
  const match = /^([A-Za-z_$][\w$.]*)(?:\(|: ?)([\s\S]*?)\)?$/.exec(history.trim());
  return match ? [match[1]!, match[2]!] : ['Error', history];
}

function tailOf(path: string | null): FileTail | null {
  if (!path) return null;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return { path, exists: true, size, tail: buffer.toString('utf8') };
  } catch {
    return { path, exists: false, size: 0, tail: '' };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

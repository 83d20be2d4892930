import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, IllegalStateError } from '../common/errors.ts';
import type { MonitoringEvent } from './events.ts';
import { APPLICATION_ID, COMPLETED_STATES, FINAL_STATES, INDEXES, SCHEMA_VERSION, TABLES, formatTime } from './schema.ts';
import { loadSqlite, type SqliteDatabase, type SqliteStatement } from '../common/sqlite.ts';
import { BatchRows, type PendingTask, type PendingTry } from './batch-rows.ts';
import { BulkWrite } from './bulk-write.ts';
import { StateDeltas } from './state-deltas.ts';
import { siteRowWriter } from './site-rows.ts';

/**
 * The one writer of a monitoring database. `write(event)` queues a plain event object; the
 * queue is committed in one transaction when it holds `batchSize` events, `flushIntervalMs`
 * after the first queued one, on `flush()` and on `close()`. Each commit rewrites the
 * tables' last pages and the per-second counts, so fewer, larger ones cost less per event
 * (4000 rather than 1000 events: -9% of the writer's CPU per no-op task); a dashboard still
 * sees a run within `flushIntervalMs`.
 *
 * Journal: WAL with `synchronous=NORMAL`. Readers (the dashboard, a notebook) read the last
 * committed state without taking a lock the writer waits on, and the writer never waits on
 * them; Parsl's default rollback journal is why its readers saw "database is locked" (#1889).
 * Several runs of one `runDir` may share a database: each writes rows of its own `run_id`,
 * and SQLite serialises their commits (each waits up to `busyTimeoutMs` for another's).
 */

export interface MonitoringWriterOptions {
  /** Events per transaction (a no-op task makes about 7). @default 4000 */
  batchSize?: number;
  /** At most this long between a `write` and its commit, in ms. @default 100 */
  flushIntervalMs?: number;
  /** How long a commit waits for another writer of the same file (another run). @default 5000 */
  busyTimeoutMs?: number;
  /** Called after each commit with the number of events it wrote. */
  onCommit?: ((count: number) => void) | undefined;
}

/** What the writer did: for the monitoring actor's report and for tests. */
export interface MonitoringWriterStats {
  written: number;
  commits: number;
  /** Events a failed commit dropped (the goal is none). */
  lost: number;
  queued: number;
}

export class MonitoringWriter {
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #queue: MonitoringEvent[] = [];
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #onCommit: ((count: number) => void) | undefined;
  readonly #commit: (events: readonly MonitoringEvent[]) => void;
  readonly #abandonBatch: () => void;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #stats: MonitoringWriterStats = { written: 0, commits: 0, lost: 0, queued: 0 };
  readonly #onExit = () => this.close();

  private constructor(path: string, options: MonitoringWriterOptions) {
    this.path = path;
    this.#batchSize = positive(options.batchSize ?? 4000, 'batchSize');
    this.#flushIntervalMs = positive(options.flushIntervalMs ?? 100, 'flushIntervalMs');
    this.#onCommit = options.onCommit;
    const Sqlite = loadSqlite('monitoring');
    mkdirSync(dirname(path), { recursive: true });
    this.#db = new Sqlite(path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      const id = this.#db.pragma('application_id', { simple: true }) as number;
      if (id !== 0 && id !== APPLICATION_ID) {
        throw new ConfigError('monitoring.loggingEndpoint', `${path} is an SQLite file of another program (application_id ${id})`);
      }
      this.#db.transaction(() => {
        this.#db.exec(TABLES);
        this.#db.exec(INDEXES);
        this.#db.pragma(`application_id = ${APPLICATION_ID}`);
        // A file keeps the layout it was made with (its tables are created once).
        if ((this.#db.pragma('user_version', { simple: true }) as number) === 0) this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    } catch (error) {
      this.#db.close();
      throw error;
    }
    const { apply, endBatch, abandonBatch } = makeApplier(this.#db);
    this.#abandonBatch = abandonBatch;
    this.#commit = this.#db.transaction((events: readonly MonitoringEvent[]) => {
      for (const event of events) apply(event);
      endBatch();
    });
    process.on('exit', this.#onExit);
  }

  /** Opens (creating it and its folder if missing) the database at `path` for writing. */
  static open(path: string, options: MonitoringWriterOptions = {}): MonitoringWriter {
    return new MonitoringWriter(path, options);
  }

  /** Queues an event; it is committed within `flushIntervalMs`. */
  write(event: MonitoringEvent): void {
    if (this.#closed) throw new IllegalStateError(`monitoring database ${this.path} is closed`);
    this.#queue.push(event);
    if (this.#queue.length >= this.#batchSize) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#flushIntervalMs).unref();
  }

  /**
   * Commits the queued events in one transaction. An event the database refuses (a bug, or
   * a full disk) fails the batch: it is counted in `stats.lost` and reported by the error,
   * never left to fail a task.
   */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length === 0) return;
    const events = this.#queue.splice(0, this.#queue.length);
    try {
      this.#commit(events);
    } catch (error) {
      this.#abandonBatch(); // rolled back: its summed deltas go with it
      this.#stats.lost += events.length;
      throw new IllegalStateError(`monitoring: ${events.length} events were not written: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#stats.written += events.length;
    this.#stats.commits++;
    this.#onCommit?.(events.length);
  }

  get stats(): MonitoringWriterStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  /** Commits what is queued and closes the database. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    process.off('exit', this.#onExit);
    try {
      this.flush();
    } finally {
      this.#closed = true;
      this.#db.close();
    }
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(name, `expected a positive number; got ${value}`);
  return value;
}

const text = (value: string | undefined, max = 10_000): string | null =>
  value === undefined ? null : value.length > max ? `${value.slice(0, max)}…` : value;
const list = (values: readonly (string | number)[] | undefined): string | null =>
  values === undefined ? null : values.join(',');

/** The statements of each event kind, prepared once; returns the function that applies one event. */
function makeApplier(db: SqliteDatabase): { apply: (event: MonitoringEvent) => void; endBatch: () => void; abandonBatch: () => void } {
  const s = (sql: string): SqliteStatement => db.prepare(sql);
  const workflowStart = s(
    `INSERT INTO workflow (run_id, workflow_name, workflow_version, time_began, host, user, rundir, tasks_failed_count, tasks_completed_count)
     VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)
     ON CONFLICT (run_id) DO UPDATE SET time_began = excluded.time_began, time_completed = NULL`,
  );
  const workflowEnd = s(
    `UPDATE workflow SET time_completed = ?, tasks_completed_count = coalesce(?, tasks_completed_count),
     tasks_failed_count = coalesce(?, tasks_failed_count) WHERE run_id = ?`,
  );
  // Rows written at a batch's end go in many per statement (bulk-write.ts).
  const taskRows = new BulkWrite(
    db,
    `INSERT OR REPLACE INTO task (task_id, run_id, task_depends, task_func_name, task_memoize, task_hashsum, task_inputs,
     task_outputs, task_stdin, task_stdout, task_stderr, task_time_invoked, task_fail_count, task_fail_cost, task_state,
     task_args_summary, task_time_returned)`,
    17,
  );
  const statusRows = new BulkWrite(db, `INSERT OR IGNORE INTO status (task_id, task_status_name, timestamp, run_id, try_id)`, 5);
  // Task rows written before this batch get their latest state (and return time) at its end, many per statement.
  const taskStates = new BulkWrite(db, `UPDATE task SET task_state = v.column1 FROM (`, 3, `) AS v WHERE task.task_id = v.column2 AND task.run_id = v.column3`);
  const taskReturns = new BulkWrite(
    db,
    `UPDATE task SET task_state = v.column1, task_time_returned = v.column2 FROM (`,
    4,
    `) AS v WHERE task.task_id = v.column3 AND task.run_id = v.column4`,
  );
  const previousState = s(`SELECT task_state FROM task WHERE task_id = ? AND run_id = ?`).pluck();
  // The state of each unfinished task and the time it was recorded at, so that a change needs
  // no read (a writer that restarts finds the state in the task table).
  const states = new Map<string, Map<number, { state: string; time: number }>>();
  const deltas = new StateDeltas(db);
  /** Run and task ids (in pairs) of the tasks that ended in this batch. */
  const ended: (string | number)[] = [];
  const forgetEnded = () => {
    for (let i = 0; i < ended.length; i += 2) states.get(ended[i] as string)?.delete(ended[i + 1] as number);
    ended.length = 0;
  };
  // Within a batch, only a task's last unfinished state is written to `task.task_state`, and
  // each run's completed and failed counts are added once: fewer statements per task.
  const lastStates = new Map<string, Map<number, string>>();
  const counts = new Map<string, { completed: number; failed: number }>();
  const writeDeltas = () => {
    statusRows.write();
    newTasks.drain((_runId, t) => taskRows.add(taskRow(t)));
    taskRows.write();
    launches.drain((runId, t) => tryRows.add(tryRow(runId, t)));
    tryRows.write();
    deltas.write();
    for (const [runId, tasks] of lastStates) for (const [taskId, state] of tasks) taskStates.add([state, taskId, runId]);
    lastStates.clear();
    taskStates.write();
    taskReturns.write();
    forgetEnded();
    for (const [runId, c] of counts) countEnded.run(c.completed, c.failed, runId);
    counts.clear();
  };
  const countEnded = s(
    `UPDATE workflow SET tasks_completed_count = tasks_completed_count + ?, tasks_failed_count = tasks_failed_count + ? WHERE run_id = ?`,
  );
  // A try's launch, start and return, written as one row when they are in one batch (a quick
  // task's usually are): one insert instead of an insert and two updates (see `tries`).
  const tryRows = new BulkWrite(
    db,
    `INSERT INTO try (try_id, task_id, run_id, block_id, hostname, task_executor, task_try_time_launched,
     task_try_time_running, task_try_time_returned)`,
    9,
    `ON CONFLICT DO UPDATE SET task_try_time_launched = excluded.task_try_time_launched, task_executor = excluded.task_executor,
     task_try_time_running = coalesce(excluded.task_try_time_running, task_try_time_running),
     task_try_time_returned = coalesce(excluded.task_try_time_returned, task_try_time_returned),
     block_id = coalesce(excluded.block_id, block_id), hostname = coalesce(excluded.hostname, hostname)`,
  );
  const tryRunning = s(
    `UPDATE try SET task_try_time_running = ?, block_id = coalesce(?, block_id), hostname = coalesce(?, hostname)
     WHERE try_id = ? AND task_id = ? AND run_id = ?`,
  );
  const tryPlaced = s(
    `INSERT INTO try (try_id, task_id, run_id, block_id, hostname, task_executor) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT DO UPDATE SET block_id = excluded.block_id, hostname = coalesce(excluded.hostname, hostname)`,
  );
  const tryReturned = s(`UPDATE try SET task_try_time_returned = ? WHERE try_id = ? AND task_id = ? AND run_id = ?`);
  const tryFailed = s(
    `UPDATE try SET task_try_time_returned = ?, task_fail_history = ?, task_fail_class = ?, task_fail_message = ?,
     task_fail_traceback = ? WHERE try_id = ? AND task_id = ? AND run_id = ?`,
  );
  const taskFailCount = s(
    `UPDATE task SET task_fail_count = task_fail_count + 1, task_fail_cost = task_fail_cost + ? WHERE task_id = ? AND run_id = ?`,
  );
  const tryJoins = s(`UPDATE try SET task_joins = ? WHERE try_id = ? AND task_id = ? AND run_id = ?`);
  const writeSiteRow = siteRowWriter(db);
  const n = (value: number | undefined): number | null => (value === undefined ? null : value);
  // Tasks and tries first seen in this batch, written at its end (batch-rows.ts).
  const newTasks = new BatchRows<PendingTask>();
  /** A held task's row, with the latest state and return time the batch gave it. */
  const taskRow = (t: PendingTask): unknown[] => {
    t.values[14] = t.state;
    t.values[16] = t.returned;
    return t.values;
  };
  /** Writes the held row of `e`'s task now: an event that updates it in the table comes. */
  const writeNewTask = (e: { runId: string; taskId: number }): void => {
    const t = newTasks.take(e.runId, e.taskId);
    if (t) taskRows.insertNow(taskRow(t));
  };
  const launches = new BatchRows<PendingTry>();
  const tryRow = (runId: string, t: PendingTry): unknown[] =>
    [t.tryId, t.taskId, runId, t.blockId, t.hostname, t.executor, t.launched, t.running, t.returned];
  /** The held row of `e`'s try, if it was launched in this batch. */
  const pendingTry = (e: { runId: string; taskId: number; tryId: number }): PendingTry | undefined => {
    const t = launches.get(e.runId, e.taskId);
    return t && t.tryId === e.tryId ? t : undefined;
  };
  /** Writes the held row of `e`'s task's try now: an event that is not a launch, start or return comes for it. */
  const writePendingTry = (e: { runId: string; taskId: number }): void => {
    const t = launches.take(e.runId, e.taskId);
    if (t) tryRows.insertNow(tryRow(e.runId, t));
  };

  const apply = (e: MonitoringEvent): void => {
    switch (e.type) {
      case 'workflow-start':
        workflowStart.run(e.runId, e.workflowName ?? null, e.workflowVersion ?? null, formatTime(e.time), e.host, e.user, e.rundir);
        return;
      case 'workflow-end': {
        // The batch's counts so far first: the end's own counts, when given, replace the sum.
        const c = counts.get(e.runId);
        if (c) countEnded.run(c.completed, c.failed, e.runId);
        counts.delete(e.runId);
        workflowEnd.run(formatTime(e.time), n(e.tasksCompleted), n(e.tasksFailed), e.runId);
        return;
      }
      case 'task-submitted': {
        // A new task has no state yet: its first state event needs no look-up.
        let run = states.get(e.runId);
        if (!run) states.set(e.runId, (run = new Map()));
        if (!run.has(e.taskId)) run.set(e.taskId, { state: '', time: -Infinity });
        // Parsl's bool in a TEXT column reads '1'/'0' (a JS number would be bound as REAL: '1.0').
        // Sent again with its memo key, it replaces the row (INSERT OR REPLACE), state kept.
        const held = newTasks.get(e.runId, e.taskId);
        const values = [
          e.taskId, e.runId, list(e.depends), e.funcName, e.memoize ? '1' : '0', e.hashsum ?? null,
          e.inputs ? JSON.stringify(e.inputs) : null, e.outputs ? JSON.stringify(e.outputs) : null,
          e.stdin ?? null, e.stdout ?? null, e.stderr ?? null, formatTime(e.time), 0, 0, null, text(e.argsSummary, 1000), null,
        ];
        newTasks.set(e.runId, e.taskId, { taskId: e.taskId, values, state: held?.state ?? null, returned: held?.returned ?? null });
        return;
      }
      case 'task-state': {
        let run = states.get(e.runId);
        if (!run) states.set(e.runId, (run = new Map()));
        const known = run.get(e.taskId);
        // Unknown: the task ended (in this batch, or before), or a restarted writer did not see it.
        const held = newTasks.get(e.runId, e.taskId);
        const previous = known ? known.state : held ? held.state : (previousState.get(e.taskId, e.runId) as string | null | undefined);
        if (previous === e.state) return; // a repeat
        // A task's states are ordered by their time (`status` has no insertion order): one
        // that comes within the millisecond clock's tick of the last is recorded 1 µs after it.
        const at = known !== undefined && e.time <= known.time ? known.time + 0.001 : e.time;
        const time = formatTime(at);
        const row = [e.taskId, e.state, time, e.runId, e.tryId];
        if (known) statusRows.add(row);
        else if (statusRows.insertNow(row) === 0) return; // a repeat (written before a restart)
        const second = Math.floor(e.time / 1000);
        if (previous) deltas.add(e.runId, second, previous, -1);
        deltas.add(e.runId, second, e.state, 1);
        if (known) {
          known.state = e.state;
          known.time = at;
        } else run.set(e.taskId, { state: e.state, time: at });
        // An ended task is forgotten at the batch's end, when its row says it ended.
        if (FINAL_STATES.has(e.state)) ended.push(e.runId, e.taskId);
        let last = lastStates.get(e.runId);
        if (!last) lastStates.set(e.runId, (last = new Map()));
        if (held) {
          held.state = e.state; // written with the row, at the batch's end
          if (FINAL_STATES.has(e.state)) held.returned = time;
        }
        if (FINAL_STATES.has(e.state)) {
          last.delete(e.taskId);
          if (!held) taskReturns.add([e.state, time, e.taskId, e.runId]);
          let c = counts.get(e.runId);
          if (!c) counts.set(e.runId, (c = { completed: 0, failed: 0 }));
          if (COMPLETED_STATES.has(e.state)) c.completed++;
          else c.failed++;
        } else if (!held) {
          last.set(e.taskId, e.state);
        }
        return;
      }
      case 'try-launched': {
        writePendingTry(e); // an earlier try of the task, launched in this batch too
        launches.set(e.runId, e.taskId, {
          tryId: e.tryId, taskId: e.taskId, executor: e.executor, blockId: e.blockId ?? null, hostname: e.hostname ?? null,
          launched: formatTime(e.time), running: null, returned: null,
        });
        return;
      }
      case 'try-running': {
        const t = pendingTry(e);
        if (t) {
          t.running = formatTime(e.time);
          t.blockId = e.blockId ?? t.blockId;
          t.hostname = e.hostname ?? t.hostname;
        } else {
          tryRunning.run(formatTime(e.time), e.blockId ?? null, e.hostname ?? null, e.tryId, e.taskId, e.runId);
        }
        return;
      }
      case 'try-placed':
        writePendingTry(e);
        tryPlaced.run(e.tryId, e.taskId, e.runId, e.blockId, e.hostname ?? null, e.executor);
        return;
      case 'try-returned': {
        const t = pendingTry(e);
        if (t) t.returned = formatTime(e.time);
        else tryReturned.run(formatTime(e.time), e.tryId, e.taskId, e.runId);
        return;
      }
      case 'try-failed':
        writePendingTry(e);
        tryFailed.run(
          formatTime(e.time), text(`${e.errorClass}: ${e.message}`), e.errorClass, text(e.message), text(e.stack, 20_000),
          e.tryId, e.taskId, e.runId,
        );
        writeNewTask(e);
        taskFailCount.run(e.cost ?? 1, e.taskId, e.runId);
        return;
      case 'try-joins':
        writePendingTry(e);
        tryJoins.run(list(e.joins), e.tryId, e.taskId, e.runId);
        return;
      case 'block':
      case 'node':
      case 'resource':
        writeSiteRow(e);
        return;
    }
  };
  const abandonBatch = () => {
    statusRows.clear();
    taskRows.clear();
    taskStates.clear();
    taskReturns.clear();
    forgetEnded();
    tryRows.clear();
    newTasks.clear();
    launches.clear();
    deltas.clear();
    lastStates.clear();
    counts.clear();
  };
  return { apply, endBatch: writeDeltas, abandonBatch };
}

/**
 * The monitoring database's tables: Parsl's (`parsl/monitoring/db_manager.py`), with the same
 * table and column names, so that Parsl's SQL, `parsl-visualize` queries and notebooks carry
 * over. Times are stored as SQLAlchemy stores a `DateTime` in SQLite, text
 * `YYYY-MM-DD HH:MM:SS.ffffff` (UTC here; Parsl writes local time), so that
 * `pandas.read_sql(..., parse_dates=...)` reads them as Parsl's.
 *
 * Additions, which Parsl's readers ignore (they select columns by name):
 * - `task.task_state`: the task's latest state (Parsl derives it from `status`), so that a
 *   run's tasks are counted by state without folding every status row.
 * - `try.task_fail_class`, `try.task_fail_message`, `try.task_fail_traceback`: why a try
 *   failed, split out of Parsl's `task_fail_history` (which is kept too), so that failures can
 *   be grouped by class.
 * - `task.task_args_summary`: a short, printable summary of the call's arguments.
 * - the table `parsl_ts_state_changes`: per run, second and state, how many tasks entered
 *   (+) or left (-) that state in that second, kept by the writer, so that "tasks by state
 *   over time" of a 100k-task run sums a few thousand rows instead of ordering every status row.
 * - the indexes below, for the dashboard's queries (Parsl has one, on `task_hashsum`).
 *
 * One difference in the keys: the primary keys of `task`, `status` and `try` lead with
 * `run_id` (Parsl's lead with `task_id` / `try_id`), and these three tables are `WITHOUT
 * ROWID`. The keys say the same uniqueness; each run's rows are one range of the key, stored
 * in the key's B-tree itself, so a row costs one B-tree, not a table and an index, and the
 * per-run questions need no index of their own (layout 2: the writer's CPU per task -13%, the
 * file -43%, against layout 1). Without a rowid, `status` has no insertion order: the writer
 * keeps each task's status times strictly increasing instead (a state within the clock's
 * millisecond of the one before is recorded 1 µs after it), so `ORDER BY timestamp` is the
 * order the states came in. Files of layout 1 keep their tables and are written as they are.
 */

/** Parsl's tables, columns in Parsl's order; our additions at the end of `task` and `try`. */
export const TABLES = `
CREATE TABLE IF NOT EXISTS workflow (
  run_id TEXT NOT NULL PRIMARY KEY,
  workflow_name TEXT,
  workflow_version TEXT,
  time_began DATETIME NOT NULL,
  time_completed DATETIME,
  host TEXT NOT NULL,
  user TEXT NOT NULL,
  rundir TEXT NOT NULL,
  tasks_failed_count INTEGER NOT NULL,
  tasks_completed_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS status (
  task_id INTEGER NOT NULL,
  task_status_name TEXT NOT NULL,
  timestamp DATETIME NOT NULL,
  run_id TEXT NOT NULL,
  try_id INTEGER NOT NULL,
  PRIMARY KEY (run_id, task_id, task_status_name, timestamp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS task (
  task_id INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  task_depends TEXT,
  task_func_name TEXT NOT NULL,
  task_memoize TEXT NOT NULL,
  task_hashsum TEXT,
  task_inputs TEXT,
  task_outputs TEXT,
  task_stdin TEXT,
  task_stdout TEXT,
  task_stderr TEXT,
  task_time_invoked DATETIME,
  task_time_returned DATETIME,
  task_fail_count INTEGER NOT NULL,
  task_fail_cost FLOAT NOT NULL,
  task_state TEXT,
  task_args_summary TEXT,
  PRIMARY KEY (run_id, task_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS try (
  try_id INTEGER NOT NULL,
  task_id INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  block_id TEXT,
  hostname TEXT,
  task_executor TEXT NOT NULL,
  task_try_time_launched DATETIME,
  task_try_time_running DATETIME,
  task_try_time_returned DATETIME,
  task_fail_history TEXT,
  task_joins TEXT,
  task_fail_class TEXT,
  task_fail_message TEXT,
  task_fail_traceback TEXT,
  PRIMARY KEY (run_id, task_id, try_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS node (
  id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  hostname TEXT NOT NULL,
  uid TEXT NOT NULL,
  block_id TEXT NOT NULL,
  cpu_count INTEGER NOT NULL,
  total_memory INTEGER NOT NULL,
  active BOOLEAN NOT NULL,
  worker_count INTEGER NOT NULL,
  python_v TEXT NOT NULL,
  timestamp DATETIME NOT NULL,
  last_heartbeat DATETIME NOT NULL
);
CREATE TABLE IF NOT EXISTS block (
  run_id TEXT NOT NULL,
  executor_label TEXT NOT NULL,
  block_id TEXT NOT NULL,
  job_id TEXT,
  timestamp DATETIME NOT NULL,
  status TEXT NOT NULL,
  PRIMARY KEY (run_id, block_id, executor_label, timestamp)
);
CREATE TABLE IF NOT EXISTS resource (
  try_id INTEGER NOT NULL,
  task_id INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  timestamp DATETIME NOT NULL,
  resource_monitoring_interval FLOAT,
  psutil_process_pid INTEGER,
  psutil_process_cpu_percent FLOAT,
  psutil_process_memory_percent FLOAT,
  psutil_process_children_count FLOAT,
  psutil_process_time_user FLOAT,
  psutil_process_time_system FLOAT,
  psutil_process_memory_virtual FLOAT,
  psutil_process_memory_resident FLOAT,
  psutil_process_disk_read FLOAT,
  psutil_process_disk_write FLOAT,
  psutil_process_status TEXT,
  PRIMARY KEY (try_id, task_id, run_id, timestamp)
);
CREATE TABLE IF NOT EXISTS parsl_ts_state_changes (
  run_id TEXT NOT NULL,
  second INTEGER NOT NULL,
  state TEXT NOT NULL,
  delta INTEGER NOT NULL,
  PRIMARY KEY (run_id, second, state)
) WITHOUT ROWID;
`;

/** Indexes for the dashboard's and the query API's questions (each names the question). */
export const INDEXES = `
-- Parsl's, partial: most tasks have no memo key, and a look-up by key implies one.
CREATE INDEX IF NOT EXISTS ix_task_task_hashsum ON task (task_hashsum) WHERE task_hashsum IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_try_run_launched ON try (run_id, task_try_time_launched);
CREATE INDEX IF NOT EXISTS ix_try_run_failure ON try (run_id, task_fail_class) WHERE task_fail_class IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_resource_run_time ON resource (run_id, timestamp);
CREATE INDEX IF NOT EXISTS ix_node_run ON node (run_id, timestamp);
CREATE INDEX IF NOT EXISTS ix_block_run ON block (run_id, timestamp);
`;

/** 'PTMO' in the header: a parsl-ts monitoring database (Parsl's has 0). */
export const APPLICATION_ID = 0x50544d4f;
/**
 * The layout this code writes. 2: `task`, `status`, `try` without rowid, keyed by run, and no
 * index on `task` but Parsl's (per-run counts come from `parsl_ts_state_changes`). A file of
 * layout 1 is read and written as it is (same columns; its extra indexes stay).
 */
export const SCHEMA_VERSION = 2;

/** States after which a task never moves (Parsl's `FINAL_STATES`). */
export const FINAL_STATES = new Set(['exec_done', 'memo_done', 'failed', 'dep_fail']);
/** Final states that count as completed in `workflow.tasks_completed_count`. */
export const COMPLETED_STATES = new Set(['exec_done', 'memo_done']);

/**
 * A time as SQLAlchemy's SQLite `DateTime` stores it: `2026-11-30 12:41:39.123456`, UTC.
 * `ms` may carry a fraction (microseconds are kept).
 */
export function formatTime(ms: number): string {
  const whole = Math.floor(ms);
  // Events come in bursts within one second: its date and time are formatted once.
  const second = Math.floor(whole / 1000);
  if (second !== lastSecond) {
    const iso = new Date(second * 1000).toISOString(); // 2026-11-30T12:41:39.000Z
    lastSecond = second;
    lastPrefix = `${iso.slice(0, 10)} ${iso.slice(11, 19)}.`;
  }
  const millis = whole - second * 1000;
  const micros = Math.min(Math.round((ms - whole) * 1000), 999);
  return lastPrefix + PADDED[millis]! + PADDED[micros]!;
}

let lastSecond = Number.NaN;
let lastPrefix = '';
/** '000' to '999'. */
const PADDED = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** Milliseconds since the epoch of a stored time (`formatTime`'s form, or an ISO string); NaN for null. */
export function parseTime(text: string | null | undefined): number {
  if (text === null || text === undefined) return Number.NaN;
  const t = text.length >= 19 && text[10] === ' ' ? `${text.slice(0, 10)}T${text.slice(11)}` : text;
  const millis = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t.slice(0, 23)}Z`);
  const extra = t.length > 23 && /^\d+$/.test(t.slice(23, 26)) ? Number(t.slice(23, 26)) / 1000 : 0;
  return millis + extra;
}

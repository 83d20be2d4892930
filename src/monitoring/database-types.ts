/** The plain objects `MonitoringDatabase` returns (times in ms since the epoch, `null` when not known). */

/**
 * One run of a workflow, as `MonitoringDatabase.workflows()` lists it.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: WorkflowSummary | undefined = db.workflows()[0];
 * ```
 */
export interface WorkflowSummary {
  runId: string;
  workflowName: string | null;
  workflowVersion: string | null;
  timeBegan: number | null;
  timeCompleted: number | null;
  host: string;
  user: string;
  rundir: string;
  tasksCompleted: number;
  tasksFailed: number;
  tasks: number;
  /** Tasks by their latest state. */
  byState: Record<string, number>;
}

/**
 * One try of a task on the timeline: when it was launched, started and returned, and where.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: TimelineTry | undefined = db.timeline(runId).tries[0];
 * ```
 */
export interface TimelineTry {
  taskId: number;
  tryId: number;
  funcName: string;
  executor: string;
  blockId: string | null;
  hostname: string | null;
  launched: number | null;
  running: number | null;
  returned: number | null;
  failed: boolean;
  /** `executor/block/host`: the Gantt's group. */
  group: string;
  /** The worker slot within the group. */
  lane: number;
}

/**
 * The task dependency graph of a run, by task, or by app when the run is too big to draw.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: TaskGraph | undefined = db.taskGraph(runId);
 * ```
 */
export interface TaskGraph {
  /** 'task': a node per task; 'app': the graph was too big, a node per app. */
  level: 'task' | 'app';
  nodes: { id: string; label: string; state: string; count: number }[];
  edges: { source: string; target: string; count: number }[];
  tasks: number;
}

/**
 * The tasks of one app in a run: counts by state and durations.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: AppSummary | undefined = db.apps(runId)[0];
 * ```
 */
export interface AppSummary {
  funcName: string;
  count: number;
  byState: Record<string, number>;
  /** Of successful tries, running (or launched) to returned, in ms. */
  medianMs: number | null;
  p95Ms: number | null;
}

/**
 * Failed tries of a run grouped by error class, then by message.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: FailureGroup | undefined = db.failures(runId)[0];
 * ```
 */
export interface FailureGroup {
  errorClass: string;
  /** Failed tries of this class, retried ones included. */
  tries: number;
  /** Distinct tasks with a try of this class. */
  tasks: number;
  /** Of those, tasks that ended failed. */
  finallyFailed: number;
  /** `count` tries with this message, in `tasks` tasks; `taskIds`: the first of them. */
  messages: { message: string; count: number; tasks: number; taskIds: number[] }[];
}

/**
 * One try of a task, with its error when it failed.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: TaskTry | undefined = db.task(runId, 1)?.tries[0];
 * ```
 */
export interface TaskTry {
  tryId: number;
  executor: string;
  blockId: string | null;
  hostname: string | null;
  launched: number | null;
  running: number | null;
  returned: number | null;
  errorClass: string | null;
  message: string | null;
  traceback: string | null;
  failHistory: string | null;
  joins: number[];
}

/**
 * The end of a task's stdout or stderr file.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: FileTail | undefined = db.task(runId, 1)?.stdout;
 * ```
 */
export interface FileTail {
  path: string;
  exists: boolean;
  size: number;
  tail: string;
}

/**
 * Everything known of one task: its tries, state changes, dependencies and output files.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: TaskDetails | undefined = db.task(runId, 1);
 * ```
 */
export interface TaskDetails {
  runId: string;
  taskId: number;
  funcName: string;
  state: string | null;
  depends: number[];
  memoize: boolean;
  hashsum: string | null;
  inputs: string | null;
  outputs: string | null;
  argsSummary: string | null;
  invoked: number | null;
  returned: number | null;
  failCount: number;
  failCost: number;
  tries: TaskTry[];
  states: { state: string; time: number; tryId: number }[];
  stdout: FileTail | null;
  stderr: FileTail | null;
}

/**
 * The samples of one process: CPU percent and resident bytes over time.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: ResourceSeries | undefined = db.resources(runId).series[0];
 * ```
 */
export interface ResourceSeries {
  hostname: string;
  pid: number | null;
  /** [time, cpu percent, resident bytes] */
  points: [number, number | null, number | null][];
}

/**
 * CPU and memory samples of the processes that ran tasks, and the run's nodes and blocks.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: Resources | undefined = db.resources(runId);
 * ```
 */
export interface Resources {
  series: ResourceSeries[];
  nodes: { hostname: string; blockId: string; cpuCount: number; totalMemory: number; workerCount: number; active: boolean; time: number | null }[];
  blocks: { executor: string; blockId: string; jobId: string | null; status: string; time: number | null }[];
}


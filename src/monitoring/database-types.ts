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
  /** The run's id (a UUID). */
  runId: string;
  /** The workflow's name (`MonitoringHub.workflowName`). */
  workflowName: string | null;
  /** Its version. */
  workflowVersion: string | null;
  /** When the run began. */
  timeBegan: number | null;
  /** When it ended; `null` while it runs. */
  timeCompleted: number | null;
  /** The host the driver ran on. */
  host: string;
  /** The user who ran it. */
  user: string;
  /** The run directory. */
  rundir: string;
  /** Tasks that finished with a result. */
  tasksCompleted: number;
  /** Tasks that failed. */
  tasksFailed: number;
  /** Tasks submitted. */
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
  /** The task's id. */
  taskId: number;
  /** The try's number, from 0. */
  tryId: number;
  /** The app's name. */
  funcName: string;
  /** Label of the executor. */
  executor: string;
  /** The block it ran in (HTEX). */
  blockId: string | null;
  /** The host it ran on. */
  hostname: string | null;
  /** When it was handed to the executor. */
  launched: number | null;
  /** When a worker started it. */
  running: number | null;
  /** When its outcome arrived. */
  returned: number | null;
  /** Whether the try failed. */
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
  /** A node per task (or per app): its label, state, and how many tasks it stands for. */
  nodes: { id: string; label: string; state: string; count: number }[];
  /** Dependencies: `source` must finish before `target`. */
  edges: { source: string; target: string; count: number }[];
  /** Tasks in the run. */
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
  /** The app's name. */
  funcName: string;
  /** Its tasks. */
  count: number;
  /** Its tasks by latest state. */
  byState: Record<string, number>;
  /** Of successful tries, running (or launched) to returned, in ms. */
  medianMs: number | null;
  /** 95th percentile of the same durations, in ms. */
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
  /** The error's class name, e.g. `BashExitFailure`. */
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
  /** The try's number, from 0. */
  tryId: number;
  /** Label of the executor. */
  executor: string;
  /** The block it ran in (HTEX). */
  blockId: string | null;
  /** The host it ran on. */
  hostname: string | null;
  /** When it was handed to the executor. */
  launched: number | null;
  /** When a worker started it. */
  running: number | null;
  /** When its outcome arrived. */
  returned: number | null;
  /** The error's class, when it failed. */
  errorClass: string | null;
  /** The error's message. */
  message: string | null;
  /** The error's stack. */
  traceback: string | null;
  /** Parsl's `task_fail_history` column. */
  failHistory: string | null;
  /** For a join app: the tasks it waited for. */
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
  /** The file's path. */
  path: string;
  /** Whether it exists. */
  exists: boolean;
  /** Its size in bytes. */
  size: number;
  /** Its last lines. */
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
  /** The run's id. */
  runId: string;
  /** The task's id. */
  taskId: number;
  /** The app's name. */
  funcName: string;
  /** Its latest state. */
  state: string | null;
  /** The tasks it depended on. */
  depends: number[];
  /** Whether its app is cached. */
  memoize: boolean;
  /** Its memo key. */
  hashsum: string | null;
  /** Its input files. */
  inputs: string | null;
  /** Its output files. */
  outputs: string | null;
  /** Its arguments, abbreviated. */
  argsSummary: string | null;
  /** When it was submitted. */
  invoked: number | null;
  /** When it finished. */
  returned: number | null;
  /** Its failed tries. */
  failCount: number;
  /** The sum of its failures' costs (retry handler). */
  failCost: number;
  /** Its tries, first first. */
  tries: TaskTry[];
  /** Its state changes, in order. */
  states: { state: string; time: number; tryId: number }[];
  /** The end of its stdout file (bash apps). */
  stdout: FileTail | null;
  /** The end of its stderr file (bash apps). */
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
  /** The host of the process. */
  hostname: string;
  /** The process id. */
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
  /** A series per sampled process. */
  series: ResourceSeries[];
  /** The nodes that registered (HTEX). */
  nodes: { hostname: string; blockId: string; cpuCount: number; totalMemory: number; workerCount: number; active: boolean; time: number | null }[];
  /** The blocks' status changes (HTEX). */
  blocks: { executor: string; blockId: string; jobId: string | null; status: string; time: number | null }[];
}


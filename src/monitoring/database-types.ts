/** The plain objects `MonitoringDatabase` returns (times in ms since the epoch, `null` when not known). */

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

export interface TaskGraph {
  /** 'task': a node per task; 'app': the graph was too big, a node per app. */
  level: 'task' | 'app';
  nodes: { id: string; label: string; state: string; count: number }[];
  edges: { source: string; target: string; count: number }[];
  tasks: number;
}

export interface AppSummary {
  funcName: string;
  count: number;
  byState: Record<string, number>;
  /** Of successful tries, running (or launched) to returned, in ms. */
  medianMs: number | null;
  p95Ms: number | null;
}

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

export interface FileTail {
  path: string;
  exists: boolean;
  size: number;
  tail: string;
}

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

export interface ResourceSeries {
  hostname: string;
  pid: number | null;
  /** [time, cpu percent, resident bytes] */
  points: [number, number | null, number | null][];
}

export interface Resources {
  series: ResourceSeries[];
  nodes: { hostname: string; blockId: string; cpuCount: number; totalMemory: number; workerCount: number; active: boolean; time: number | null }[];
  blocks: { executor: string; blockId: string; jobId: string | null; status: string; time: number | null }[];
}


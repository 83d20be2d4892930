/**
 * What the monitoring writer records: plain, serialisable objects (they may come from a
 * worker thread or over NATS from a block), one kind per fact. Times are milliseconds since
 * the epoch (`Date.now()`, or `performance.timeOrigin + performance.now()` for sub-ms).
 * `runId` is the workflow's id (Parsl's `run_id`, a UUID per `load()`).
 */

/** A workflow (one `load()`) started. */
export interface WorkflowStartEvent {
  type: 'workflow-start';
  runId: string;
  time: number;
  workflowName?: string | undefined;
  workflowVersion?: string | undefined;
  host: string;
  user: string;
  rundir: string;
}

/** A workflow ended (`clear()`/`cleanup()`); the counts, when given, replace the live ones. */
export interface WorkflowEndEvent {
  type: 'workflow-end';
  runId: string;
  time: number;
  tasksCompleted?: number | undefined;
  tasksFailed?: number | undefined;
}

/** An app was called: a task exists (its first state event follows). */
export interface TaskSubmittedEvent {
  type: 'task-submitted';
  runId: string;
  taskId: number;
  time: number;
  funcName: string;
  /** The ids of the tasks it waits on. */
  depends?: readonly number[] | undefined;
  /** Whether the app is cached (Parsl's `task_memoize`). */
  memoize?: boolean | undefined;
  /** The memo key (hex), when the app is cached. */
  hashsum?: string | undefined;
  inputs?: readonly string[] | undefined;
  outputs?: readonly string[] | undefined;
  stdin?: string | undefined;
  stdout?: string | undefined;
  stderr?: string | undefined;
  /** A short printable summary of the arguments (the writer cuts it to 1000 characters). */
  argsSummary?: string | undefined;
}

/** A task moved to a state (Parsl's state names: pending, launched, running, exec_done, …). */
export interface TaskStateEvent {
  type: 'task-state';
  runId: string;
  taskId: number;
  /** The try this state belongs to (0 for the first). */
  tryId: number;
  state: string;
  time: number;
}

/** A try was handed to an executor. */
export interface TryLaunchedEvent {
  type: 'try-launched';
  runId: string;
  taskId: number;
  tryId: number;
  time: number;
  executor: string;
  blockId?: string | undefined;
  hostname?: string | undefined;
}

/** A worker started a try; it names where it runs. */
export interface TryRunningEvent {
  type: 'try-running';
  runId: string;
  taskId: number;
  tryId: number;
  time: number;
  blockId?: string | undefined;
  hostname?: string | undefined;
}

/** Where a try runs (an executor with blocks says so when the block reports it). */
export interface TryPlacedEvent {
  type: 'try-placed';
  runId: string;
  taskId: number;
  tryId: number;
  executor: string;
  blockId: string;
  hostname?: string | undefined;
}

/** A try returned a result. */
export interface TryReturnedEvent {
  type: 'try-returned';
  runId: string;
  taskId: number;
  tryId: number;
  time: number;
}

/** A try failed: why (the error's class, message and stack). */
export interface TryFailedEvent {
  type: 'try-failed';
  runId: string;
  taskId: number;
  tryId: number;
  time: number;
  errorClass: string;
  message: string;
  stack?: string | undefined;
  /** Added to Parsl's `task_fail_cost` (the retry handler's cost). @default 1 */
  cost?: number | undefined;
}

/** A join app's try returned futures of these tasks. */
export interface TryJoinsEvent {
  type: 'try-joins';
  runId: string;
  taskId: number;
  tryId: number;
  joins: readonly number[];
}

/** A block changed state (Parsl's block table: one row per status seen). */
export interface BlockEvent {
  type: 'block';
  runId: string;
  time: number;
  executor: string;
  blockId: string;
  jobId?: string | undefined;
  status: string;
}

/** A node (a block manager on a host) reported itself. */
export interface NodeEvent {
  type: 'node';
  runId: string;
  time: number;
  hostname: string;
  uid: string;
  blockId: string;
  cpuCount: number;
  totalMemory: number;
  active: boolean;
  workerCount: number;
  /** The runtime's version (Parsl's `python_v`): `process.version` here. */
  runtimeVersion: string;
  lastHeartbeat?: number | undefined;
}

/** A sample of a process running a try (a worker, or a bash app's command). */
export interface ResourceEvent {
  type: 'resource';
  runId: string;
  taskId: number;
  tryId: number;
  time: number;
  intervalMs?: number | undefined;
  pid?: number | undefined;
  cpuPercent?: number | undefined;
  memoryPercent?: number | undefined;
  childrenCount?: number | undefined;
  /** CPU seconds in user and system mode. */
  timeUser?: number | undefined;
  timeSystem?: number | undefined;
  /** Bytes. */
  memoryVirtual?: number | undefined;
  memoryResident?: number | undefined;
  diskRead?: number | undefined;
  diskWrite?: number | undefined;
  status?: string | undefined;
}

export type MonitoringEvent =
  | WorkflowStartEvent
  | WorkflowEndEvent
  | TaskSubmittedEvent
  | TaskStateEvent
  | TryLaunchedEvent
  | TryRunningEvent
  | TryPlacedEvent
  | TryReturnedEvent
  | TryFailedEvent
  | TryJoinsEvent
  | BlockEvent
  | NodeEvent
  | ResourceEvent;

/**
 * How an executor with blocks records its blocks, nodes, where tries run and resource
 * samples: the events go straight to the monitoring actor (they change no task's state).
 */
export interface ExecutorMonitoring {
  /** The workflow's run id (Parsl's `run_id`). */
  runId: string;
  /** How often blocks sample their running tries, in ms; undefined when resource monitoring is off. */
  resourceIntervalMs: number | undefined;
  send(events: MonitoringEvent[]): void;
}

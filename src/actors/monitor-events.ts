import { hostname, userInfo } from 'node:os';
import { basename, dirname } from 'node:path';
import { BaseFuture } from '../apps/future.ts';
import { FINAL_STATES, type TaskState } from '../apps/task-states.ts';
import type { Config } from '../config/config.ts';
import { forEachDependency } from '../dataflow/arguments.ts';
import type { RunDir } from '../dataflow/run-dir.ts';
import type { TaskStateCounts } from '../dataflow/state-counts.ts';
import type { TaskRecord } from '../dataflow/task.ts';
import { monitoringDatabasePath } from '../monitoring/endpoint.ts';
import type { ExecutorMonitoring, MonitoringEvent, TaskStateEvent, TaskSubmittedEvent } from '../monitoring/events.ts';
import { send, type Ref } from './actor.ts';
import { spawnMonitor, type ToMonitor } from './monitor.ts';

/** States in which a task has a try on an executor: leaving them ends the try. */
const TRY_STATES: ReadonlySet<TaskState> = new Set<TaskState>(['launched', 'running', 'joining']);

/**
 * Turns the DFK's task changes into monitoring events and sends them to the monitoring actor,
 * one batch per DFK message (`flush()` at its end), so that a message that moves 1000 tasks
 * costs one send. The DFK calls it from its one place of state changes (`#move`), at
 * submission and when a try fails.
 */
export class MonitorEvents {
  readonly #runId: string;
  readonly #ref: Ref<ToMonitor>;
  readonly #memoOn: boolean;
  #batch: MonitoringEvent[] = [];
  /** What executors with blocks use to record blocks, nodes, placements and resource samples. */
  forExecutors!: ExecutorMonitoring;
  /** Each unfinished task's submission, sent again with the memo key once it is known. */
  readonly #submitted = new Map<number, TaskSubmittedEvent>();
  /** Task id → the try whose failure is already recorded (by `tryFailed`). */
  readonly #failedTry = new Map<number, number>();

  /** Spawns the monitoring actor under `parent` when `config.monitoring` is set; records the workflow's start. */
  static start(parent: Ref<unknown>, config: Config, run: RunDir, runId: string): MonitorEvents | undefined {
    const hub = config.monitoring;
    if (!hub) return undefined;
    // The default database is shared by the runs of one runDir: `<runDir>/monitoring.db`.
    const ref = spawnMonitor(parent, monitoringDatabasePath(hub.loggingEndpoint, dirname(run.path)));
    const events = new MonitorEvents(runId, ref, config.appCache);
    events.forExecutors = {
      runId,
      resourceIntervalMs: hub.resourceMonitoringEnabled ? hub.resourceMonitoringInterval : undefined,
      send: (batch) => send(ref, { type: 'events', events: batch }),
    };
    const time = Date.now();
    events.#batch.push({
      type: 'workflow-start',
      runId,
      time,
      workflowName: hub.workflowName ?? (process.argv[1] ? basename(process.argv[1]) : 'parsl-ts'),
      workflowVersion: hub.workflowVersion ?? new Date(time).toISOString(),
      host: hostname(),
      user: currentUser(),
      rundir: run.path,
    });
    events.flush();
    return events;
  }

  private constructor(runId: string, ref: Ref<ToMonitor>, memoOn: boolean) {
    this.#runId = runId;
    this.#ref = ref;
    this.#memoOn = memoOn;
  }

  /** The DFK took a new task (it is `pending`). */
  submitted(record: TaskRecord): void {
    const depends: number[] = [];
    forEachDependency(record.args, record.kwargsIndex, (dep) => {
      if (dep instanceof BaseFuture && typeof (dep as { tid?: unknown }).tid === 'number') depends.push((dep as unknown as { tid: number }).tid);
    });
    const { future, app } = record;
    const event: TaskSubmittedEvent = {
      type: 'task-submitted',
      runId: this.#runId,
      taskId: record.id,
      time: Date.now(),
      funcName: app.name,
      depends,
      memoize: app.options.cache === true && this.#memoOn,
      outputs: future.outputs.length > 0 ? future.outputs.map((o) => o.file.filepath) : undefined,
      stdout: future.stdout,
      stderr: future.stderr,
    };
    if (event.memoize) this.#submitted.set(record.id, event); // sent again with its memo key
    this.#batch.push(event, this.#state(record, 'pending', event.time));
  }

  /** A task moved `from` → `to`; `error` is why, when it failed. */
  moved(record: TaskRecord, from: TaskState, to: TaskState, error?: unknown): void {
    const time = Date.now();
    const batch = this.#batch;
    const id = record.id;
    if (from === 'pending' && record.memoKey !== undefined) {
      const submitted = this.#submitted.get(id);
      if (submitted) batch.push({ ...submitted, hashsum: record.memoKey });
    }
    const tryId = this.#tryId(record);
    if (to === 'launched') {
      batch.push(this.#state(record, to, time), { type: 'try-launched', runId: this.#runId, taskId: id, tryId, time, executor: record.executor ?? '' });
    } else if (to === 'running') {
      batch.push(this.#state(record, to, time), { type: 'try-running', runId: this.#runId, taskId: id, tryId, time });
    } else if (TRY_STATES.has(from) && to === 'exec_done') {
      batch.push({ type: 'try-returned', runId: this.#runId, taskId: id, tryId, time }, this.#state(record, to, time));
    } else if (TRY_STATES.has(from) && to === 'failed' && this.#failedTry.get(id) !== record.attempt) {
      batch.push(this.#tryFailedEvent(record, error, 1, time), this.#state(record, to, time));
    } else {
      batch.push(this.#state(record, to, time));
    }
    if (FINAL_STATES.has(to)) {
      if (this.#submitted.size > 0) this.#submitted.delete(id);
      if (this.#failedTry.size > 0) this.#failedTry.delete(id);
    }
  }

  /** A try failed with `error` (weighed `cost` by the retry handler); `retrying` if the task is tried again. */
  tryFailed(record: TaskRecord, error: unknown, cost: number, retrying: boolean): void {
    const time = Date.now();
    this.#failedTry.set(record.id, record.attempt);
    this.#batch.push(this.#tryFailedEvent(record, error, cost, time));
    // Parsl's state between a failed try and the next one.
    if (retrying) this.#batch.push({ ...this.#state(record, 'pending', time), state: 'fail_retryable' });
  }

  /** The workflow ended: its last events; resolves once they are committed. */
  end(counts: TaskStateCounts): Promise<void> {
    const c = counts.snapshot();
    this.#batch.push({
      type: 'workflow-end',
      runId: this.#runId,
      time: Date.now(),
      tasksCompleted: (c.exec_done ?? 0) + (c.memo_done ?? 0),
      tasksFailed: (c.failed ?? 0) + (c.dep_fail ?? 0),
    });
    this.flush();
    return new Promise((done) => send(this.#ref, { type: 'close', done }));
  }

  /** Sends what the current DFK message produced, as one batch. */
  flush(): void {
    if (this.#batch.length === 0) return;
    const events = this.#batch;
    this.#batch = [];
    send(this.#ref, { type: 'events', events });
  }

  /** Parsl's try_id counts from 0; a task that never ran has try 0. */
  #tryId(record: TaskRecord): number {
    return record.attempt > 0 ? record.attempt - 1 : 0;
  }

  #state(record: TaskRecord, state: string, time: number): TaskStateEvent {
    return { type: 'task-state', runId: this.#runId, taskId: record.id, tryId: this.#tryId(record), state, time };
  }

  #tryFailedEvent(record: TaskRecord, error: unknown, cost: number, time: number): MonitoringEvent {
    const e = error as { name?: unknown; message?: unknown; stack?: unknown; constructor?: { name?: string } } | null | undefined;
    const isObject = typeof e === 'object' && e !== null;
    const errorClass = isObject ? (typeof e.name === 'string' && e.name !== 'Error' ? e.name : (e.constructor?.name ?? 'Error')) : typeof error;
    return {
      type: 'try-failed',
      runId: this.#runId,
      taskId: record.id,
      tryId: this.#tryId(record),
      time,
      errorClass,
      message: isObject && typeof e.message === 'string' ? e.message : String(error),
      stack: isObject && typeof e.stack === 'string' ? e.stack : undefined,
      cost,
    };
  }
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

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
import { CompactBatchBuilder, MAX_NUMBER_ARGS } from '../monitoring/compact.ts';
import { inputsOf, summarizeArguments } from '../monitoring/args-summary.ts';
import type { ExecutorMonitoring, MonitoringEvent, TaskSubmittedEvent } from '../monitoring/events.ts';
import { send, type Ref } from './actor.ts';
import { spawnMonitor, type ToMonitor } from './monitor.ts';
import { appIsCached } from './app-cached.ts';

/** States in which a task has a try on an executor: leaving them ends the try. */
const TRY_STATES: ReadonlySet<TaskState> = new Set<TaskState>(['launched', 'running', 'joining']);

/** How long events wait in the DFK before they go to the writer as one batch, in ms. */
const BATCH_WINDOW_MS = 20;

/**
 * Turns the DFK's task changes into monitoring events and sends them to the monitoring actor
 * in batches, one every `BATCH_WINDOW_MS` while events come (`flushSoon()` at the end of each
 * DFK message arms it): the thread executor's results arrive in hundreds of small messages per
 * second, and a batch per message cost the DFK more than the events themselves (a send, a
 * copy and an ArrayBuffer each). The dashboard sees them 20 ms later; the writer commits every
 * 100 ms anyway. The DFK calls it from its one place of state changes (`#move`), at submission
 * and when a try fails; executors' events (blocks, nodes, placements) join the same batches,
 * so that everything reaches the writer in the order it happened.
 */
export class MonitorEvents {
  readonly #runId: string;
  readonly #ref: Ref<ToMonitor>;
  readonly #config: Pick<Config, 'appCache' | 'resume'>;
  /** The events of the current DFK message, in compact form (most are a few numbers each). */
  readonly #batch: CompactBatchBuilder;
  /** What executors with blocks use to record blocks, nodes, placements and resource samples. */
  forExecutors!: ExecutorMonitoring;
  /** Each unfinished task's submission, sent again with the memo key once it is known. */
  readonly #submitted = new Map<number, TaskSubmittedEvent>();
  /** The dependencies of the task being submitted (one array, reused: most tasks have none). */
  readonly #depends: number[] = [];
  readonly #addDependency = (dep: unknown): void => {
    if (dep instanceof BaseFuture && typeof (dep as { tid?: unknown }).tid === 'number') this.#depends.push((dep as unknown as { tid: number }).tid);
  };
  /** Task id → the try whose failure is already recorded (by `tryFailed`). */
  readonly #failedTry = new Map<number, number>();
  /** Armed by `flushSoon()` while the batch holds events. */
  #timer: NodeJS.Timeout | undefined;
  readonly #flushNow = (): void => this.flush();

  /** Spawns the monitoring actor under `parent` when `config.monitoring` is set; records the workflow's start. */
  static start(parent: Ref<unknown>, config: Config, run: RunDir, runId: string): MonitorEvents | undefined {
    const hub = config.monitoring;
    if (!hub) return undefined;
    // The default database is shared by the runs of one runDir: `<runDir>/monitoring.db`.
    const ref = spawnMonitor(parent, monitoringDatabasePath(hub.loggingEndpoint, dirname(run.path)));
    const events = new MonitorEvents(runId, ref, config);
    events.forExecutors = {
      runId,
      resourceIntervalMs: hub.resourceMonitoringEnabled ? hub.resourceMonitoringInterval : undefined,
      send: (batch) => {
        for (const event of batch) events.#batch.event(event);
        events.flushSoon();
      },
    };
    const time = Date.now();
    events.#batch.event({
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

  private constructor(runId: string, ref: Ref<ToMonitor>, config: Pick<Config, 'appCache' | 'resume'>) {
    this.#runId = runId;
    this.#ref = ref;
    this.#config = config;
    this.#batch = new CompactBatchBuilder(runId);
  }

  /** The DFK took a new task (it is `pending`). */
  submitted(record: TaskRecord): void {
    const depends = this.#depends;
    depends.length = 0;
    forEachDependency(record.args, record.kwargsIndex, this.#addDependency);
    const { future, app } = record;
    const time = Date.now();
    const memoize = appIsCached(app.options.cache, this.#config);
    const batch = this.#batch;
    const inputs = inputsOf(record.args, record.kwargsIndex);
    if (!memoize && inputs === undefined && future.outputs.length === 0 && future.stdout === undefined && future.stderr === undefined) {
      // The common call: a few numbers and its summary (its state `pending` included); a call
      // of numbers alone sends them, and the writer's thread writes the summary.
      if (onlyNumbers(record.args)) batch.submittedNumbers(record.id, time, app.name, false, record.args as number[], depends);
      else batch.submitted(record.id, time, app.name, false, summarizeArguments(record.args, record.kwargsIndex), depends);
      return;
    }
    const argsSummary = summarizeArguments(record.args, record.kwargsIndex);
    const event: TaskSubmittedEvent = {
      type: 'task-submitted',
      runId: this.#runId,
      taskId: record.id,
      time,
      funcName: app.name,
      depends: [...depends],
      memoize,
      argsSummary,
      inputs,
      outputs: future.outputs.length > 0 ? future.outputs.map((o) => o.file.filepath) : undefined,
      stdout: future.stdout,
      stderr: future.stderr,
    };
    if (memoize) this.#submitted.set(record.id, event); // sent again with its memo key
    batch.event(event);
    batch.state(record.id, 0, time, 'pending');
  }

  /** A task moved `from` → `to`; `error` is why, when it failed. */
  moved(record: TaskRecord, from: TaskState, to: TaskState, error?: unknown): void {
    const time = Date.now();
    const batch = this.#batch;
    const id = record.id;
    if (from === 'pending' && record.memoKey !== undefined) {
      const submitted = this.#submitted.get(id);
      if (submitted) batch.event({ ...submitted, hashsum: record.memoKey });
    }
    const tryId = this.#tryId(record);
    if (to === 'launched') {
      batch.launched(id, tryId, time, record.executor ?? '');
    } else if (to === 'running') {
      batch.running(id, tryId, time);
    } else if (to === 'exec_done' && TRY_STATES.has(from)) {
      batch.returned(id, tryId, time);
    } else if (TRY_STATES.has(from) && to === 'failed' && this.#failedTry.get(id) !== record.attempt) {
      batch.event(this.#tryFailedEvent(record, error, 1, time));
      batch.state(id, tryId, time, to);
    } else {
      batch.state(id, tryId, time, to);
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
    this.#batch.event(this.#tryFailedEvent(record, error, cost, time));
    // Parsl's state between a failed try and the next one.
    if (retrying) this.#batch.state(record.id, this.#tryId(record), time, 'fail_retryable');
  }

  /** A join app's try returned these futures (Parsl's `try.task_joins`: the ids of the tasks it joins). */
  joined(record: TaskRecord, inner: readonly unknown[]): void {
    const joins: number[] = [];
    for (const item of inner) {
      const tid = (item as { tid?: unknown } | null)?.tid;
      if (item instanceof BaseFuture && typeof tid === 'number') joins.push(tid);
    }
    this.#batch.event({ type: 'try-joins', runId: this.#runId, taskId: record.id, tryId: this.#tryId(record), joins });
  }

  /** The workflow ended: its last events; resolves once they are committed. */
  end(counts: TaskStateCounts): Promise<void> {
    const c = counts.snapshot();
    this.#batch.event({
      type: 'workflow-end',
      runId: this.#runId,
      time: Date.now(),
      tasksCompleted: (c.exec_done ?? 0) + (c.memo_done ?? 0),
      tasksFailed: (c.failed ?? 0) + (c.dep_fail ?? 0),
    });
    this.flush();
    return new Promise((done) => send(this.#ref, { type: 'close', done }));
  }

  /** Sends the events so far within `BATCH_WINDOW_MS`, with any that come before then. */
  flushSoon(): void {
    if (this.#timer === undefined && !this.#batch.empty) this.#timer = setTimeout(this.#flushNow, BATCH_WINDOW_MS).unref();
  }

  /** Sends the events so far, as one batch, now. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch.take();
    if (batch) send(this.#ref, { type: 'compact', batch });
  }

  /** Parsl's try_id counts from 0; a task that never ran has try 0. */
  #tryId(record: TaskRecord): number {
    return record.attempt > 0 ? record.attempt - 1 : 0;
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

/** Whether a call's arguments are a few numbers (no options object: that is not a number). */
function onlyNumbers(args: readonly unknown[]): boolean {
  if (args.length > MAX_NUMBER_ARGS) return false;
  for (let i = 0; i < args.length; i++) if (typeof args[i] !== 'number') return false;
  return true;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

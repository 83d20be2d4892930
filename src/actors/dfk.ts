import { spawnBehaviour, send, type Behaviour, type Ref } from './actor.ts';
import type { ExecTask, FromExecutor, TaskOutcome, ToExecutor } from './messages.ts';
import { BaseFuture, isThenable } from '../apps/future.ts';
import type { AppDefinition } from '../apps/app.ts';
import type { Config } from '../config/config.ts';
import {
  FunctionSerializationError,
  KernelClosedError,
  SerializationError,
  TaskCancelledError,
} from '../common/errors.ts';
import { forEachDependency, resolveArguments, type DependencyValue } from '../dataflow/arguments.ts';
import type { TaskRecord } from '../dataflow/task.ts';
import { Memoizer } from '../dataflow/memo.ts';
import { joinProblem, joinResult } from '../dataflow/join.ts';
import { dependencyError } from '../dataflow/failures.ts';
import { transition, type TaskState } from '../apps/task-states.ts';
import { MAIN_THREAD_EXECUTOR_LABEL } from '../executors/executor.ts';
import type { HighThroughputExecutor } from '../executors/htex.ts';
import { spawnExecutorManager, spawnMainThreadExecutor } from './executor-managers.ts';
import { Placement } from './placement.ts';
import type { RunDir } from '../dataflow/run-dir.ts';
import type { TaskStateCounts } from '../dataflow/state-counts.ts';
import { Checkpointer } from './checkpoint.ts';
import { FunctionDefs } from './function-defs.ts';
import { MonitorEvents } from './monitor-events.ts';
import { MONITOR_ACTOR_NAME } from './monitor.ts';
import { DependencyWaits } from './dependency-waits.ts';
import { appIsCached } from './app-cached.ts';
import { sendAheadOf } from './send-ahead.ts';
import { retryCost } from './retry-cost.ts';

/** Messages the DFK supervisor handles. */
export type ToDfk =
  | FromExecutor
  | { type: 'submit'; records: TaskRecord[] }
  | { type: 'call'; fn: () => void }
  /** `future.cancel()` (or its call's signal): the future is marked `cancelRequested` already. */
  | { type: 'cancel'; taskId: number }
  | { type: 'executor-restarted'; label: string }
  /** `dfk().checkpoint()`: writes the results held for the checkpoint now. */
  | { type: 'checkpoint'; done: (written: number) => void }
  | { type: 'shutdown'; done: () => void };

/** What the DFK tells the kernel facade that owns it. */
export interface KernelHooks {
  /** Tasks by state: the kernel adds new tasks as `pending`, the DFK moves them. */
  counts: TaskStateCounts;
  /** The workflow's id (Parsl's run_id) in the monitoring database. */
  runId: string;
  /** A task reached a final state. */
  taskEnded(): void;
  /** The executor managers were spawned (once, at start). */
  executorsStarted?(refs: ReadonlyMap<string, Ref<ToExecutor>>): void;
  /** An executor manager crashed and was restarted. */
  executorRestarted?(label: string): void;
}

/**
 * The DFK supervisor: owns the task table, releases each task when its dependencies settle,
 * launches tries on executor managers (its children), applies retries, and resolves futures.
 * It is the one owner of task states: every change goes through `transition()`, whose table
 * (`TASK_TRANSITIONS` in apps/task-states.ts) says which moves are legal and who makes each.
 * When an executor manager crashes, it is restarted and the tasks it held are launched again,
 * so the task table survives.
 */
class DfkSupervisor implements Behaviour<ToDfk> {
  readonly #self: Ref<ToDfk>;
  readonly #config: Config;
  readonly #hooks: KernelHooks;
  readonly #table = new Map<number, TaskRecord>();
  readonly #executors = new Map<string, Ref<ToExecutor>>();
  readonly #labels: string[];
  /** Executors that take tasks sent ahead of their dependency (actors/send-ahead.ts). */
  readonly #sendsAhead: ReadonlySet<string>;
  readonly #placement: Placement;
  readonly #functions = new FunctionDefs();
  readonly #memo = new Memoizer();
  readonly #checkpoints: Checkpointer | undefined;
  /** The monitoring actor's feed, when `config.monitoring` is set. */
  readonly #monitor: MonitorEvents | undefined;
  /** Tries to hand to each executor at the end of the current message. */
  readonly #launches = new Map<string, ExecTask[]>();
  #inReceive = false;
  readonly #deps = new DependencyWaits(() => this.#inReceive, (fn) => send(this.#self, { type: 'call', fn }));

  readonly #counts: TaskStateCounts;

  constructor(self: Ref<ToDfk>, config: Config, run: RunDir, hooks: KernelHooks) {
    this.#counts = hooks.counts;
    this.#checkpoints = Checkpointer.open(config, run, (fn) => send(self, { type: 'call', fn }));
    this.#self = self;
    this.#config = config;
    this.#hooks = hooks;
    this.#labels = config.executors.map((e) => e.label);
    // Executors whose workers run one try at a time: a try sent ahead there waits for its dependency.
    this.#sendsAhead = new Set(
      config.executors.filter((e) => e.kind === 'threads' || (e.kind === 'htex' && (e as HighThroughputExecutor).options.tasksPerWorker === 1)).map((e) => e.label),
    );
    this.#placement = new Placement(config.executors);
    // First: the executors record their blocks through it from their start.
    this.#monitor = MonitorEvents.start(self, config, run, hooks.runId);
    const context = {
      strategy: config.strategy,
      strategyPeriodMs: config.strategyPeriodMs,
      maxIdleTimeMs: config.maxIdleTimeMs,
      run,
      monitoring: this.#monitor?.forExecutors,
      resumed: config.resume !== undefined,
    };
    for (const executor of config.executors) {
      this.#executors.set(executor.label, spawnExecutorManager(self, executor, self as Ref<FromExecutor>, context));
    }
    this.#executors.set(MAIN_THREAD_EXECUTOR_LABEL, spawnMainThreadExecutor(self, self as Ref<FromExecutor>));
    hooks.executorsStarted?.(this.#executors);
  }

  receive(msg: ToDfk): void | Promise<void> {
    this.#inReceive = true;
    try {
      switch (msg.type) {
        case 'submit':
          for (const record of msg.records) this.#accept(record);
          break;
        case 'results':
          for (const outcome of msg.outcomes) this.#outcome(outcome);
          break;
        case 'running': {
          const record = this.#table.get(msg.taskId);
          if (record && record.attempt === msg.attempt && record.future.state === 'launched') this.#move(record, 'running');
          break;
        }
        case 'call':
          msg.fn();
          break;
        case 'cancel':
          this.#cancel(msg.taskId);
          break;
        case 'capacity':
          this.#placement.update(msg.label, msg.slots, msg.available);
          if (!msg.available) this.#moveFrom(msg.label);
          break;
        case 'executor-restarted':
          this.#hooks.executorRestarted?.(msg.label);
          this.#relaunchFrom(msg.label);
          break;
        case 'checkpoint':
          msg.done(this.#checkpoints?.checkpoint() ?? 0);
          break;
        case 'shutdown':
          return this.#shutdown(msg.done);
      }
    } finally {
      // task_exit: the results of this message go to the writer as one batch; their futures resolve on its commit.
      // An executor lets go of the message's results (acks them at their source) once they are durable.
      const durable = msg.type === 'results' ? msg.committed : undefined;
      if (this.#checkpoints) this.#checkpoints.commit(durable);
      else durable?.();
      this.#inReceive = false;
      this.#flushLaunches();
      this.#monitor?.flushSoon();
    }
  }

  // ---- dependencies -------------------------------------------------------------------

  #accept(record: TaskRecord): void {
    if (record.future.done()) return;
    // A cancel asked before this arrived follows as its own message; #launch waits for it.
    this.#table.set(record.id, record);
    this.#monitor?.submitted(record);
    forEachDependency(record.args, record.kwargsIndex, (dep) => {
      if (dep instanceof BaseFuture && dep.done()) return;
      record.waitingOn++;
      this.#deps.whenSettled(dep, record, () => this.#dependencySettled(record, dep));
    });
    this.#launch(record);
  }

  #dependencySettled(record: TaskRecord, dep: PromiseLike<unknown>): void {
    if (--record.waitingOn > 0) return;
    if (record.sentAhead && this.#deps.valueOf(record, dep).failed) {
      // Its try, sent ahead, would wait on its worker to be told so: take it back, fail it now.
      const executor = record.executor === undefined ? undefined : this.#executors.get(record.executor);
      if (executor) send(executor, { type: 'cancel', taskId: record.id, attempt: record.attempt, handled: () => {} });
      record.sentAhead = false;
    }
    if (!record.sentAhead) this.#launch(record);
  }

  // ---- launching ----------------------------------------------------------------------

  /** Launches a try of a task whose dependencies have settled; one still waiting is sent ahead, if it can be, or left to wait. */
  #launch(record: TaskRecord): void {
    const { future, app } = record;
    if (future.done() || future.cancelRequested) return;
    record.sentAhead = false;
    let ahead: ReturnType<typeof sendAheadOf>;
    if (record.waitingOn > 0) {
      ahead = sendAheadOf(record, this.#table, (label) => this.#sendsAhead.has(label), appIsCached(app.options.cache, this.#config));
      if (!ahead) return;
    }
    // The closure is passed, not assigned to a name: esbuild's keepNames would name it with a
    // defineProperty per task (see resolveOne in dataflow/arguments.ts).
    const { args, failures } = resolveArguments(record.args, record.kwargsIndex, (dep): DependencyValue =>
      dep === ahead?.dependency ? { failed: false, value: undefined } : this.#deps.valueOf(record, dep),
    );
    if (failures.length > 0) return this.#fail(record, dependencyError(record.id, failures), 'dep_fail');
    const fn = this.#functions.of(
      app,
      () => send(this.#self, { type: 'call', fn: () => this.#launch(record) }),
      (error: unknown) => send(this.#self, { type: 'call', fn: () => this.#fail(record, error, 'failed') }),
    );
    if (fn === undefined) return; // Its module is being searched; launched again when found.
    if (record.attempt === 0 && appIsCached(app.options.cache, this.#config)) {
      record.memoKey = this.#memo.keyOf(app, app.kind === 'join' ? undefined : fn.ref, args, record.kwargsIndex);
      // This run's memo table first, then the checkpoints.
      const known = record.memoKey === undefined ? undefined : this.#memo.get(record.memoKey, this.#checkpoints);
      if (known?.ok) return this.#complete(record, known.value, 'memo_done');
      if (known) return this.#fail(record, known.error, 'memo_done');
    }
    const label = ahead?.label ?? record.stagingExecutor ?? this.#chooseExecutor(app);
    record.sentAhead = ahead !== undefined;
    record.attempt++;
    record.executor = label;
    if (label !== MAIN_THREAD_EXECUTOR_LABEL) this.#placement.launched(record.id, label);
    this.#move(record, 'launched');
    let batch = this.#launches.get(label);
    if (!batch) this.#launches.set(label, (batch = []));
    batch.push({
      taskId: record.id,
      attempt: record.attempt,
      kind: app.kind,
      fn,
      local: app.fn,
      args,
      walltimeMs: record.walltimeMs,
      bash: record.bash,
      memoKey: record.memoKey,
      after: ahead?.after,
    });
  }

  #chooseExecutor(app: AppDefinition): string {
    if (app.kind === 'join') return MAIN_THREAD_EXECUTOR_LABEL;
    const allowed = app.options.executors === 'all' ? this.#labels : app.options.executors;
    return this.#placement.choose(allowed);
  }

  /** `label`'s site is out of reach: its unpinned tries move (a new try, not a failure; the old one's result is ignored). */
  #moveFrom(label: string): void {
    for (const record of this.#placement.movable(label, this.#table.values(), this.#labels)) {
      send(this.#executors.get(label)!, { type: 'cancel', taskId: record.id, attempt: record.attempt, handled: () => {} });
      this.#launch(record);
    }
  }

  #flushLaunches(): void {
    if (this.#launches.size === 0) return;
    for (const [label, tasks] of this.#launches) {
      const executor = this.#executors.get(label);
      if (executor) send(executor, { type: 'launch', tasks });
    }
    this.#launches.clear();
  }

  #relaunchFrom(label: string): void {
    for (const record of this.#table.values()) {
      if (record.executor === label && (record.future.state === 'launched' || record.future.state === 'running')) {
        // A cancel the crashed manager may never have handled ends here.
        if (record.future.cancelRequested) this.#cancel(record.id, true);
        else this.#launch(record);
      }
    }
  }

  // ---- outcomes -----------------------------------------------------------------------

  #outcome(outcome: TaskOutcome): void {
    const record = this.#table.get(outcome.taskId);
    // A stale try (retried since, or its worker was replaced) or a task already ended.
    if (!record || record.attempt !== outcome.attempt || record.future.done() || record.future.cancelRequested) return;
    if (!outcome.ok && outcome.unmet) return this.#unmet(record);
    if (!outcome.ok) return this.#tryFailed(record, outcome.error);
    if (record.app.kind === 'join') return this.#join(record, outcome.value);
    this.#complete(record, outcome.value);
  }

  /** A try sent ahead did not run (its dependency's result was not on its worker): it waits for the dependency here. */
  #unmet(record: TaskRecord): void {
    record.sentAhead = false;
    if (record.waitingOn === 0) this.#launch(record);
  }

  #complete(record: TaskRecord, value: unknown, state: 'exec_done' | 'memo_done' = 'exec_done'): void {
    const { future } = record;
    if (future.done() || future.cancelRequested) return;
    if (state === 'exec_done' && record.memoKey !== undefined) {
      this.#memo.setResult(record.memoKey, value);
      if (this.#checkpoints?.record(record.memoKey, value, () => this.#resolve(record, value, state))) return;
    }
    this.#resolve(record, value, state);
  }

  #resolve(record: TaskRecord, value: unknown, state: 'exec_done' | 'memo_done'): void {
    const { future } = record;
    if (future.done() || future.cancelRequested) return;
    this.#move(record, state);
    this.#finish(record);
    for (const output of future.outputs) output.setResult(output.file);
    future.setResult(value);
  }

  /**
   * Parsl's rule: the retry handler, when there is one, weighs every failure (also with
   * `retries: 0`), and the task is tried again while the summed cost stays within `retries`. A
   * handler that throws ends the task with the handler's error, the app's error as its cause.
   */
  #tryFailed(record: TaskRecord, error: unknown): void {
    // These fail the same way every time.
    if (error instanceof SerializationError || error instanceof FunctionSerializationError) return this.#appFailed(record, error);
    const { retries } = this.#config;
    const charged = retryCost(this.#config, record, error);
    if ('failure' in charged) return this.#appFailed(record, charged.failure);
    const { cost } = charged;
    this.#monitor?.tryFailed(record, error, cost, record.failCost + cost <= retries);
    record.failCost += cost;
    if (record.failCost <= retries) return this.#launch(record);
    this.#appFailed(record, error);
  }

  /** The call itself failed (not its dependencies, not the kernel): remembered like a result. */
  #appFailed(record: TaskRecord, error: unknown): void {
    if (record.memoKey !== undefined && !record.future.done()) this.#memo.setFailure(record.memoKey, error);
    this.#fail(record, error, 'failed');
  }

  #fail(record: TaskRecord, error: unknown, state: Extract<TaskState, 'failed' | 'dep_fail' | 'memo_done'>): void {
    const { future } = record;
    if (future.done()) return;
    // A task asked to cancel ends cancelled, whatever else happened to it meanwhile.
    if (future.cancelRequested && !(error instanceof TaskCancelledError)) return;
    this.#move(record, state, error);
    this.#finish(record);
    for (const output of future.outputs) output.setException(error);
    future.setException(error);
  }

  /**
   * Ends a task cancelled by its future: it fails with `TaskCancelledError` (its `cause` the
   * reason given), and a try on an executor is stopped there (off a queue, or on its worker).
   */
  #cancel(taskId: number, now = false): void {
    const record = this.#table.get(taskId);
    if (!record || record.future.done()) return;
    const { future } = record;
    const onExecutor = future.state === 'launched' || future.state === 'running';
    const error = future.cancelRequested?.error ?? new TaskCancelledError(`task ${taskId} (${record.app.name}) was cancelled`);
    const executor = onExecutor && record.executor !== undefined ? this.#executors.get(record.executor) : undefined;
    if (!executor || now) return this.#fail(record, error, 'failed');
    // Ended once the executor has taken the try off (outcomes meanwhile are ignored: it is marked).
    const handled = (): void => send(this.#self, { type: 'call', fn: () => this.#fail(record, error, 'failed') });
    send(executor, { type: 'cancel', taskId, attempt: record.attempt, handled });
  }

  /** A join app's function returned `value`: Parsl joins a future or an array of futures, and nothing else. */
  #join(record: TaskRecord, value: unknown): void {
    const problem = joinProblem(value);
    if (problem !== undefined) {
      return this.#appFailed(
        record,
        new TypeError(`join app ${record.app.name} (task ${record.id}): a join app must return a future or an array of futures; ${problem}`),
      );
    }
    this.#move(record, 'joining');
    const inner = Array.isArray(value) ? value : [value];
    this.#monitor?.joined(record, inner);
    let waiting = 0;
    const settleAll = (): void => {
      const joined = joinResult(record.id, value, (item) => this.#deps.valueOf(record, item));
      if (joined.ok) this.#complete(record, joined.value);
      else this.#appFailed(record, joined.error);
    };
    for (const item of inner) {
      if (!isThenable(item) || (item instanceof BaseFuture && item.done())) continue;
      waiting++;
      this.#deps.whenSettled(item, record, () => {
        if (--waiting === 0) settleAll();
      });
    }
    if (waiting === 0) settleAll();
  }

  /** Every state change of a task: checked by `transition()`, counted for `taskStateCounts`. */
  #move(record: TaskRecord, to: TaskState, error?: unknown): void {
    const from = record.future.state;
    transition(record.future, to);
    this.#counts.move(from, to);
    this.#monitor?.moved(record, from, to, error);
  }

  #finish(record: TaskRecord): void {
    this.#table.delete(record.id);
    this.#placement.ended(record.id);
    this.#hooks.taskEnded();
  }

  // ---- shutdown -----------------------------------------------------------------------

  async #shutdown(done: () => void): Promise<void> {
    await this.#checkpoints?.settle();
    for (const record of [...this.#table.values()]) {
      if (record.future.cancelRequested) this.#cancel(record.id, true);
      else this.#fail(record, new KernelClosedError(`the DataFlowKernel was cleared before task ${record.id} ended`), 'failed');
    }
    this.#launches.clear();
    this.#checkpoints?.close();
    await Promise.all(
      [...this.#executors.values()].map((ref) => new Promise<void>((resolve) => send(ref, { type: 'shutdown', done: resolve }))),
    );
    await this.#monitor?.end(this.#counts);
    done();
  }
}

/** Spawns the DFK supervisor actor under the actor system. */
export function spawnDfk(system: Ref<unknown>, name: string, config: Config, run: RunDir, hooks: KernelHooks): Ref<ToDfk> {
  return spawnBehaviour<ToDfk, DfkSupervisor>(system, name, (ctx) => new DfkSupervisor(ctx.self, config, run, hooks), {
    onCrash: (_msg, error, ctx) => {
      // A bug in the DFK (an illegal task transition, say) must not silently stop every task of
      // the run: say it, keep the task table, and go on with the next message.
      process.emitWarning(error ?? new Error('the DFK supervisor failed on a message'), { code: 'PARSL_TS_DFK_ERROR' });
      return ctx.resume as symbol;
    },
    onChildCrash: (child, _error, ctx) => {
      // The monitoring actor: restarted alone (no task depends on it; it reports what it lost).
      if ((child as unknown as { name: string }).name === MONITOR_ACTOR_NAME) return ctx.resetChild as symbol;
      // An executor manager crashed: restart it, then launch again what it held.
      send(ctx.self, { type: 'executor-restarted', label: (child as unknown as { name: string }).name });
      return ctx.resetChild as symbol;
    },
  });
}

import { spawnBehaviour, send, type Behaviour, type Ref } from './actor.ts';
import type { ExecTask, FromExecutor, TaskOutcome, ToExecutor } from './messages.ts';
import type { FunctionDef } from '../wire/protocol.ts';
import { BaseFuture, isThenable } from '../apps/future.ts';
import type { AppDefinition } from '../apps/app.ts';
import type { Config } from '../config/config.ts';
import {
  DependencyError,
  FunctionSerializationError,
  JoinError,
  KernelClosedError,
  SerializationError,
  TaskCancelledError,
} from '../common/errors.ts';
import { forEachDependency, resolveArguments, settledFutureValue, type DependencyValue } from '../dataflow/arguments.ts';
import type { TaskRecord } from '../dataflow/task.ts';
import { Memoizer } from '../dataflow/memo.ts';
import { MAIN_THREAD_EXECUTOR_LABEL } from '../executors/executor.ts';
import { spawnExecutorManager, spawnMainThreadExecutor } from './executor-managers.ts';

/** Messages the DFK supervisor handles. */
export type ToDfk =
  | FromExecutor
  | { type: 'submit'; records: TaskRecord[] }
  | { type: 'call'; fn: () => void }
  /** `future.cancel()` (or its call's signal): the future is marked `cancelRequested` already. */
  | { type: 'cancel'; taskId: number }
  | { type: 'executor-restarted'; label: string }
  | { type: 'shutdown'; done: () => void };

/** What the DFK tells the kernel facade that owns it. */
export interface KernelHooks {
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
  readonly #functions = new Map<AppDefinition, FunctionDef>();
  readonly #memo = new Memoizer();
  /** Tries to hand to each executor at the end of the current message. */
  readonly #launches = new Map<string, ExecTask[]>();
  #inReceive = false;

  constructor(self: Ref<ToDfk>, config: Config, hooks: KernelHooks) {
    this.#self = self;
    this.#config = config;
    this.#hooks = hooks;
    this.#labels = config.executors.map((e) => e.label);
    const context = { strategy: config.strategy, strategyPeriodMs: config.strategyPeriodMs, maxIdleTimeMs: config.maxIdleTimeMs };
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
          if (record && record.attempt === msg.attempt && record.future.state === 'launched') record.future.setState('running');
          break;
        }
        case 'call':
          msg.fn();
          break;
        case 'cancel':
          this.#cancel(msg.taskId);
          break;
        case 'executor-restarted':
          this.#hooks.executorRestarted?.(msg.label);
          this.#relaunchFrom(msg.label);
          break;
        case 'shutdown':
          return this.#shutdown(msg.done);
      }
    } finally {
      this.#inReceive = false;
      this.#flushLaunches();
    }
  }

  // ---- dependencies -------------------------------------------------------------------

  #accept(record: TaskRecord): void {
    if (record.future.done()) return; // Cancelled before it reached us.
    this.#table.set(record.id, record);
    forEachDependency(record.args, record.kwargsIndex, (dep) => {
      if (dep instanceof BaseFuture && dep.done()) return;
      record.waitingOn++;
      this.#whenSettled(dep, record, () => {
        if (--record.waitingOn === 0) this.#launch(record);
      });
    });
    if (record.waitingOn === 0) this.#launch(record);
  }

  /**
   * Runs `then` inside this actor once `dep` settles. Futures of this kernel settle while the
   * DFK handles a message, so `then` runs at once; anything else arrives as a message.
   */
  #whenSettled(dep: PromiseLike<unknown>, record: TaskRecord, then: () => void): void {
    if (dep instanceof BaseFuture) {
      dep.onSettled(() => (this.#inReceive ? then() : send(this.#self, { type: 'call', fn: then })));
      return;
    }
    Promise.resolve(dep).then(
      (value) => send(this.#self, { type: 'call', fn: () => (this.#rememberForeign(record, dep, true, value), then()) }),
      (error: unknown) => send(this.#self, { type: 'call', fn: () => (this.#rememberForeign(record, dep, false, error), then()) }),
    );
  }

  #rememberForeign(record: TaskRecord, dep: PromiseLike<unknown>, ok: boolean, value: unknown): void {
    (record.foreign ??= new Map()).set(dep, { ok, value });
  }

  #valueOf(record: TaskRecord, dep: PromiseLike<unknown>): DependencyValue {
    if (dep instanceof BaseFuture) return settledFutureValue(dep);
    const settled = record.foreign?.get(dep);
    if (!settled) return { failed: true, error: new Error('internal: dependency not settled'), dep };
    return settled.ok ? { failed: false, value: settled.value } : { failed: true, error: settled.value, dep };
  }

  // ---- launching ----------------------------------------------------------------------

  #launch(record: TaskRecord): void {
    const { future, app } = record;
    if (future.done() || future.cancelRequested) return;
    const { args, failures } = resolveArguments(record.args, record.kwargsIndex, (dep) => this.#valueOf(record, dep));
    if (failures.length > 0) return this.#dependencyFailed(record, failures);
    const fn = this.#functionOf(record);
    if (fn === undefined) return; // Its module is being searched; launched again when found.
    if (app.options.cache && this.#config.appCache && record.attempt === 0) {
      record.memoKey = this.#memo.keyOf(app, app.kind === 'join' ? undefined : fn.ref, args);
      if (record.memoKey !== undefined && this.#memo.has(record.memoKey)) {
        return this.#complete(record, this.#memo.get(record.memoKey), 'memo_done');
      }
    }
    const label = this.#chooseExecutor(app);
    record.attempt++;
    record.executor = label;
    future.setState('launched');
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
    });
  }

  #functionOf(record: TaskRecord): FunctionDef | undefined {
    const { app } = record;
    const known = this.#functions.get(app);
    if (known) return known;
    if (app.kind === 'join') {
      const def: FunctionDef = { id: app.id, ref: { kind: 'source', name: app.name, source: '' } };
      this.#functions.set(app, def);
      return def;
    }
    const ref = app.functionRef();
    if (!(ref instanceof Promise)) {
      const def: FunctionDef = { id: app.id, ref };
      this.#functions.set(app, def);
      return def;
    }
    ref.then(
      () => send(this.#self, { type: 'call', fn: () => this.#launch(record) }),
      (error: unknown) => send(this.#self, { type: 'call', fn: () => this.#fail(record, error, 'failed') }),
    );
    return undefined;
  }

  #chooseExecutor(app: AppDefinition): string {
    if (app.kind === 'join') return MAIN_THREAD_EXECUTOR_LABEL;
    const allowed = app.options.executors === 'all' ? this.#labels : app.options.executors;
    if (allowed.length === 1) return allowed[0]!;
    return allowed[Math.floor(Math.random() * allowed.length)]!;
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
        this.#launch(record);
      }
    }
  }

  // ---- outcomes -----------------------------------------------------------------------

  #outcome(outcome: TaskOutcome): void {
    const record = this.#table.get(outcome.taskId);
    // A stale try (retried since, or its worker was replaced) or a task already ended.
    if (!record || record.attempt !== outcome.attempt || record.future.done() || record.future.cancelRequested) return;
    if (!outcome.ok) return this.#tryFailed(record, outcome.error);
    if (record.app.kind === 'join' && containsThenable(outcome.value)) return this.#join(record, outcome.value);
    this.#complete(record, outcome.value);
  }

  #complete(record: TaskRecord, value: unknown, state: 'exec_done' | 'memo_done' = 'exec_done'): void {
    const { future } = record;
    if (future.done() || future.cancelRequested) return;
    if (state === 'exec_done' && record.memoKey !== undefined) this.#memo.set(record.memoKey, value);
    future.setState(state);
    this.#finish(record);
    for (const output of future.outputs) output.setResult(output.file);
    future.setResult(value);
  }

  #tryFailed(record: TaskRecord, error: unknown): void {
    if (this.#retryAllowed(record, error)) {
      this.#launch(record);
      return;
    }
    this.#fail(record, error, 'failed');
  }

  #retryAllowed(record: TaskRecord, error: unknown): boolean {
    const { retries, retryHandler } = this.#config;
    if (retries === 0) return false;
    // These fail the same way every time.
    if (error instanceof SerializationError || error instanceof FunctionSerializationError) return false;
    let cost = 1;
    if (retryHandler) {
      try {
        cost = retryHandler(error, {
          taskId: record.id,
          appName: record.app.name,
          tries: record.attempt,
          failCost: record.failCost,
          executor: record.executor ?? '',
        });
      } catch {
        return false;
      }
    }
    record.failCost += cost;
    return record.failCost <= retries;
  }

  #fail(record: TaskRecord, error: unknown, state: 'failed' | 'dep_fail'): void {
    const { future } = record;
    if (future.done()) return;
    // A task asked to cancel ends cancelled, whatever else happened to it meanwhile.
    if (future.cancelRequested && !(error instanceof TaskCancelledError)) return;
    future.setState(state);
    this.#finish(record);
    for (const output of future.outputs) output.setException(error);
    future.setException(error);
  }

  /**
   * Ends a task cancelled by its future: it fails with `TaskCancelledError` (its `cause` the
   * reason given), and a try on an executor is stopped there (off a queue, or on its worker).
   */
  #cancel(taskId: number): void {
    const record = this.#table.get(taskId);
    if (!record || record.future.done()) return;
    const { future } = record;
    const onExecutor = future.state === 'launched' || future.state === 'running';
    const where = future.state === 'pending' ? 'before launch' : future.state === 'launched' ? 'while queued' : `while ${future.state}`;
    const reason = future.cancelRequested?.reason;
    const error = new TaskCancelledError(`task ${taskId} (${record.app.name}) was cancelled ${where}`, reason === undefined ? undefined : { cause: reason });
    this.#fail(record, error, 'failed');
    const executor = onExecutor && record.executor !== undefined ? this.#executors.get(record.executor) : undefined;
    if (executor) send(executor, { type: 'cancel', taskId, attempt: record.attempt });
  }

  #dependencyFailed(record: TaskRecord, failures: Extract<DependencyValue, { failed: true }>[]): void {
    const ids: number[] = [];
    for (const failure of failures) {
      const tid = (failure.dep as { tid?: unknown }).tid;
      if (typeof tid === 'number' && !ids.includes(tid)) ids.push(tid);
    }
    const first = failures[0]!;
    const upstream = first.error instanceof DependencyError ? first.error.chain : [];
    const firstTid = (first.dep as { tid?: unknown }).tid;
    const chain = typeof firstTid === 'number' ? [firstTid, ...upstream] : upstream;
    this.#fail(record, new DependencyError(record.id, ids, chain, first.error), 'dep_fail');
  }

  #join(record: TaskRecord, value: unknown): void {
    record.future.setState('joining');
    const inner = Array.isArray(value) ? value : [value];
    let waiting = 0;
    const settleAll = (): void => {
      const failed: number[] = [];
      let firstError: unknown;
      const values = inner.map((item) => {
        if (!isThenable(item)) return item;
        const settled = this.#valueOf(record, item);
        if (!settled.failed) return settled.value;
        const tid = (item as { tid?: unknown }).tid;
        if (typeof tid === 'number') failed.push(tid);
        if (firstError === undefined) firstError = settled.error;
        return undefined;
      });
      if (failed.length > 0 || firstError !== undefined) {
        this.#fail(record, new JoinError(record.id, failed, firstError), 'failed');
      } else {
        this.#complete(record, Array.isArray(value) ? values : values[0]);
      }
    };
    for (const item of inner) {
      if (!isThenable(item) || (item instanceof BaseFuture && item.done())) continue;
      waiting++;
      this.#whenSettled(item, record, () => {
        if (--waiting === 0) settleAll();
      });
    }
    if (waiting === 0) settleAll();
  }

  #finish(record: TaskRecord): void {
    this.#table.delete(record.id);
    this.#hooks.taskEnded();
  }

  // ---- shutdown -----------------------------------------------------------------------

  async #shutdown(done: () => void): Promise<void> {
    for (const record of [...this.#table.values()]) {
      this.#fail(record, new KernelClosedError(`the DataFlowKernel was cleared before task ${record.id} ended`), 'failed');
    }
    this.#launches.clear();
    await Promise.all(
      [...this.#executors.values()].map((ref) => new Promise<void>((resolve) => send(ref, { type: 'shutdown', done: resolve }))),
    );
    done();
  }
}

function containsThenable(value: unknown): boolean {
  return isThenable(value) || (Array.isArray(value) && value.some(isThenable));
}

/** Spawns the DFK supervisor actor under the actor system. */
export function spawnDfk(system: Ref<unknown>, name: string, config: Config, hooks: KernelHooks): Ref<ToDfk> {
  return spawnBehaviour<ToDfk, DfkSupervisor>(system, name, (ctx) => new DfkSupervisor(ctx.self, config, hooks), {
    onChildCrash: (child, _error, ctx) => {
      // An executor manager crashed: restart it, then launch again what it held.
      send(ctx.self, { type: 'executor-restarted', label: (child as unknown as { name: string }).name });
      return ctx.resetChild as symbol;
    },
  });
}

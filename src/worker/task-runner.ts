import { decodeValue, encodeValue } from '../wire/codec.ts';
import { AppTimeout, SerializationError, serializeError, TaskCancelledError } from '../common/errors.ts';
import type { FromWorker, ToWorker, WireOutcome, WireTask } from '../wire/protocol.ts';
import { runBash } from './bash.ts';
import { runInTask } from './task-context.ts';
import { loadFunction } from './load-function.ts';
import { afterTask, beforeTask, taskStagingOf } from './in-task-staging.ts';
import { KeptResults } from './kept-results.ts';
import { PHASE_AWAITING, PHASE_SYNC, type RunningSlot } from './running-slot.ts';

/** Results wait at most this long in the outbox while quick tasks keep coming. */
const FLUSH_AFTER_MS = 2;
/** Or until this many are waiting. */
const FLUSH_AFTER_COUNT = 512;
/**
 * A task announces that it started only when the one before it took at least this long: a
 * flood of quick tasks would otherwise double the messages for a state nobody could see.
 */
const ANNOUNCE_AFTER_MS = 0.5;

/**
 * After its queue empties, a worker polls for more work this long before it sleeps. Waking a
 * sleeping thread costs ~170 µs on these VMs against ~10 µs for one that is awake, and in a
 * chain of dependent tasks the next task arrives 50–150 µs after the last result (measured:
 * 0.27 ms per chain link without the spin, 0.15 with 0.25 ms of spin, 0.11 with 1 ms).
 */
const IDLE_SPIN_MS = 1;

/**
 * Runs tasks in the thread that owns it and reports their ends in batches: one at a time, or
 * with `concurrency` above 1 (HTEX's `tasksPerWorker`), that many at once, each started as
 * soon as the one before it awaits (async apps that sleep or wait on I/O). One implementation
 * serves the thread executor's workers and the block manager's workers.
 */
export class TaskRunner {
  readonly #post: (msg: FromWorker) => void;
  readonly #slot: RunningSlot | undefined;
  readonly #poll: (() => ToWorker | undefined) | undefined;
  readonly #idleSpinMs: number;
  readonly #functions = new Map<number, Promise<Function> | Function>();
  readonly #queue: WireTask[] = [];
  #head = 0;
  #draining = false;
  #outbox: WireOutcome[] = [];
  #outboxSince = 0;
  #batchStarted = 0;
  #batchCount = 0;
  #lastTaskMs = Infinity;
  /** Tries started and not ended, by `taskId:attempt`, with what cancels each. */
  readonly #running = new Map<string, AbortController>();
  /** Tries run at once (1: one after the other). */
  readonly #concurrency: number;
  /** Wakes the drain loop waiting for one of `concurrency` tries to end. */
  #slotFree: (() => void) | undefined;
  /** A flush is due at the end of this turn of the event loop (tries that end on their own, concurrently). */
  #turnEndScheduled = false;
  /**
   * Concurrent tries that awaited: announced as running at the end of the turn if still
   * running then. Timing each try, as one at a time does, would announce every quick one: its
   * time includes the tries that ran beside it, and each announcement is a stored message on HTEX.
   */
  #toAnnounce: WireTask[] = [];
  /** Queued tries that were cancelled, as `taskId:attempt`: skipped when reached. */
  readonly #cancelled = new Set<string>();
  /** Results that tasks sent ahead of them will take (KeptResults). */
  readonly #kept = new KeptResults();

  /**
   * @param post sends a message to the owner
   * @param slot shared memory where the running task is shown
   * @param poll takes a waiting message without going through the event loop, if any
   * @param idleSpinMs how long to poll for more work after the queue empties (0: sleep at once)
   * @param concurrency how many tries run at once
   */
  constructor(post: (msg: FromWorker) => void, slot?: RunningSlot, poll?: () => ToWorker | undefined, idleSpinMs = IDLE_SPIN_MS, concurrency = 1) {
    this.#post = post;
    this.#slot = slot;
    this.#poll = poll;
    this.#idleSpinMs = idleSpinMs;
    this.#concurrency = Math.max(1, concurrency);
  }

  receive(msg: ToWorker): void {
    this.#accept(msg);
    if (!this.#draining) void this.#drain();
  }

  /**
   * Cancels a try: the running one sees its signal aborted (and stops being awaited), a
   * queued one is skipped. Each still reports an outcome, a `TaskCancelledError`. A try
   * that already ended leaves a key behind, never matched again.
   */
  cancel(taskId: number, attempt: number): 'running' | 'queued' | 'unknown' {
    const controller = this.#running.get(`${taskId}:${attempt}`);
    if (controller) {
      controller.abort(new TaskCancelledError(`task ${taskId} was cancelled while running`));
      return 'running';
    }
    // Queued, or still on its way: the data port and this control call do not keep each
    // other's order. Either way it is skipped when it comes up.
    this.#cancelled.add(`${taskId}:${attempt}`);
    for (let i = this.#head; i < this.#queue.length; i++) {
      const task = this.#queue[i]!;
      if (task.taskId === taskId && task.attempt === attempt) return 'queued';
    }
    return 'unknown';
  }

  #accept(msg: ToWorker): void {
    for (const def of msg.functions) {
      if (!this.#functions.has(def.id)) {
        const loading = loadFunction(def.ref);
        // Keep a failed load from becoming an unhandled rejection; each task reports it.
        loading.catch(() => {});
        this.#functions.set(def.id, loading);
      }
    }
    for (const task of msg.tasks) {
      this.#kept.expect(task);
      this.#queue.push(task);
    }
  }

  /**
   * Hands back the tries queued here and not started, so that an idle worker runs them (the
   * pool asks when this thread has been silent for long: its current try runs long). Kept:
   * tries sent ahead (they must run here, behind their dependency), those a queued try was sent
   * ahead behind, and cancelled ones (they report their cancel here).
   */
  giveBack(): Array<{ taskId: number; attempt: number }> {
    const leading = new Set<string>();
    for (let i = this.#head; i < this.#queue.length; i++) {
      const { after } = this.#queue[i]!;
      if (after) leading.add(`${after.taskId}:${after.attempt}`);
    }
    const stay: WireTask[] = [];
    const back: Array<{ taskId: number; attempt: number }> = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const task = this.#queue[i]!;
      const key = `${task.taskId}:${task.attempt}`;
      if (task.after || leading.has(key) || this.#cancelled.has(key)) stay.push(task);
      else back.push({ taskId: task.taskId, attempt: task.attempt });
    }
    this.#queue.length = this.#head;
    for (const task of stay) this.#queue.push(task);
    return back;
  }

  /** With the queue empty, results sent: wait a little for more work, awake. */
  #spinForWork(): boolean {
    if (!this.#poll || this.#idleSpinMs <= 0) return false;
    const until = performance.now() + this.#idleSpinMs;
    do {
      const msg = this.#poll();
      if (msg) {
        this.#accept(msg);
        return true;
      }
    } while (performance.now() < until);
    return false;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#head < this.#queue.length || (this.#flush(), this.#spinForWork())) {
        // Before taking the next task: a cancel on its way may be for it.
        if (this.#slot?.ringing()) {
          await this.#letControlIn();
          continue;
        }
        const task = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined as never;
        if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
          this.#queue.splice(0, this.#head);
          this.#head = 0;
        }
        if (this.#concurrency === 1) await this.#runOne(task);
        else await this.#startConcurrently(task);
      }
    } finally {
      this.#draining = false;
      this.#queue.length = 0;
      this.#head = 0;
      this.#flush();
    }
  }

  /**
   * Starts a try without waiting for its end, then waits only while `concurrency` tries run.
   * A try that ends after the loop went idle has its result flushed at the end of the turn,
   * with the others that end in it (a thousand sleeps ending together travel as one batch).
   */
  async #startConcurrently(task: WireTask): Promise<void> {
    void this.#runOne(task).finally(() => {
      const wake = this.#slotFree;
      this.#slotFree = undefined;
      wake?.();
      this.#atTurnEnd();
    });
    while (this.#running.size >= this.#concurrency) await new Promise<void>((resolve) => (this.#slotFree = resolve));
  }

  /** Flushes the results, and announces the concurrent tries still running, once this turn of the event loop ends. */
  #atTurnEnd(): void {
    if (this.#turnEndScheduled) return;
    this.#turnEndScheduled = true;
    setImmediate(() => {
      this.#turnEndScheduled = false;
      const awaiting = this.#toAnnounce;
      this.#toAnnounce = [];
      for (const { taskId, attempt } of awaiting) {
        if (this.#running.has(`${taskId}:${attempt}`)) this.#post({ type: 'running', taskId, attempt });
      }
      this.#flush();
    });
  }

  /** A control call is on its way: return to the event loop until it has been handled. */
  async #letControlIn(): Promise<void> {
    const until = performance.now() + 1_000;
    while (this.#slot!.ringing() && performance.now() < until) await new Promise((resolve) => setImmediate(resolve));
    // A call that never came (its sender gone) must not hold the queue.
    if (this.#slot!.ringing()) this.#slot!.silence();
  }

  async #runOne(task: WireTask): Promise<void> {
    if (this.#cancelled.size > 0 && this.#cancelled.delete(`${task.taskId}:${task.attempt}`)) {
      const error = new TaskCancelledError(`task ${task.taskId} was cancelled before it started`);
      this.#kept.release(task);
      this.#outbox.push({ taskId: task.taskId, attempt: task.attempt, ok: false, error: serializeError(error) });
      if (this.#outbox.length === 1) this.#outboxSince = performance.now();
      return;
    }
    const wireArgs = this.#kept.argumentsOf(task);
    if (wireArgs === undefined) {
      // Sent ahead, and what it depends on did not succeed here: the DFK decides (SentAhead).
      const error = new Error(`task ${task.taskId}: its dependency, task ${task.after!.taskId}, did not succeed on this worker first`);
      this.#outbox.push({ taskId: task.taskId, attempt: task.attempt, ok: false, error: serializeError(error), unmet: true });
      if (this.#outbox.length === 1) this.#outboxSince = performance.now();
      return;
    }
    const started = performance.now();
    if (this.#batchCount === 0) this.#batchStarted = started;
    const key = `${task.taskId}:${task.attempt}`;
    // With tries at once, the slot shows the one that started last (the only one that can be
    // in synchronous code): the owner stops a thread only for a try it sees in PHASE_SYNC.
    this.#slot?.set(task.taskId, task.attempt, performance.timeOrigin + started);
    if (this.#concurrency === 1 && this.#lastTaskMs >= ANNOUNCE_AFTER_MS) {
      this.#post({ type: 'running', taskId: task.taskId, attempt: task.attempt });
    }
    let outcome: WireOutcome;
    const controller = new AbortController();
    this.#running.set(key, controller);
    try {
      let fn = this.#functions.get(task.fnId);
      if (fn === undefined) throw new Error(`internal: function ${task.fnId} was never sent to this worker`);
      if (typeof fn !== 'function') {
        fn = await fn;
        this.#functions.set(task.fnId, fn);
      }
      const args = wireArgs.map(decodeValue);
      const run = fn;
      // In-task staging (worker/in-task-staging.ts): files the DFK marked, around the app.
      const staging = taskStagingOf(args);
      if (staging) {
        this.#slot?.setPhase(PHASE_AWAITING);
        await beforeTask(staging, controller.signal);
        if (this.#shows(task)) this.#slot?.setPhase(PHASE_SYNC);
      }
      let value: unknown = runInTask(controller.signal, () => run(...args));
      if (isPromiseLike(value) || task.kind === 'bash') {
        this.#slot?.setPhase(PHASE_AWAITING);
        if (this.#concurrency > 1) {
          this.#toAnnounce.push(task);
          this.#atTurnEnd();
        }
        // It will take a while: let the owner have what is done so far (tries at once flush
        // at the end of the turn instead: one message for all that ended in it).
        if (this.#concurrency === 1) this.#flush();
        value = await untilAborted(withWalltime(Promise.resolve(value), task.walltimeMs, controller), controller.signal);
        if (task.kind === 'bash') {
          const spec = task.bash ?? { outputs: [] };
          value = await runBash(value as string, spec, task.walltimeMs, (pid) => this.#shows(task) && this.#slot?.setChild(pid), controller.signal);
        }
      }
      if (staging && staging.stageOut.length > 0) {
        if (this.#shows(task)) this.#slot?.setPhase(PHASE_AWAITING);
        await afterTask(staging, controller.signal);
      }
      outcome = { taskId: task.taskId, attempt: task.attempt, ok: true, value: encodeResult(value) };
    } catch (error) {
      outcome = { taskId: task.taskId, attempt: task.attempt, ok: false, error: serializeError(error) };
    }
    this.#running.delete(key);
    if (this.#shows(task)) this.#slot?.clear();
    this.#kept.ended(outcome);
    const now = performance.now();
    this.#lastTaskMs = now - started;
    if (this.#outbox.length === 0) this.#outboxSince = now;
    this.#outbox.push(outcome);
    this.#batchCount++;
    if (this.#outbox.length >= FLUSH_AFTER_COUNT || now - this.#outboxSince >= FLUSH_AFTER_MS) this.#flush();
  }

  /** Whether the slot shows this try. A method: a closure per try costs a `defineProperty` under keepNames (dataflow/arguments.ts, resolveOne). */
  #shows(task: WireTask): boolean {
    return this.#slot?.ids[0] === task.taskId && this.#slot.ids[1] === task.attempt;
  }

  #flush(): void {
    if (this.#outbox.length === 0) return;
    const outcomes = this.#outbox;
    const meanTaskMs = (performance.now() - this.#batchStarted) / Math.max(1, this.#batchCount);
    this.#outbox = [];
    this.#batchCount = 0;
    this.#post({ type: 'results', outcomes, meanTaskMs });
  }
}

function encodeResult(value: unknown): unknown {
  try {
    return encodeValue(value, 'the return value');
  } catch (error) {
    if (error instanceof SerializationError) throw error;
    throw new SerializationError(String(error), { cause: error });
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Settles with `promise`, or rejects with the signal's reason once it aborts (the app may go on unawaited). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function withWalltime<T>(promise: Promise<T>, walltimeMs: number | undefined, controller: AbortController): Promise<T> {
  if (walltimeMs === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new AppTimeout(walltimeMs);
      // The app sees it in its signal, and may stop.
      controller.abort(error);
      reject(error);
    }, walltimeMs);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

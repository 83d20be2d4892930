import { decodeValue, encodeValue } from '../wire/codec.ts';
import { AppTimeout, SerializationError, serializeError } from '../common/errors.ts';
import type { FromWorker, ToWorker, WireOutcome, WireTask } from '../wire/protocol.ts';
import { runBash } from './bash.ts';
import { loadFunction } from './load-function.ts';

/** Shared memory through which the owner of a worker sees which task it is running. */
export class RunningSlot {
  /** [taskId, attempt, pid of a bash app's command or 0]; taskId -1 when idle. */
  readonly ids: Int32Array;
  /** [start time in ms since the time origin of the owner] */
  readonly started: Float64Array;

  constructor(buffer = new SharedArrayBuffer(24)) {
    this.ids = new Int32Array(buffer, 0, 3);
    this.started = new Float64Array(buffer, 16, 1);
    Atomics.store(this.ids, 0, -1);
  }

  get buffer(): SharedArrayBuffer {
    return this.ids.buffer as SharedArrayBuffer;
  }

  set(taskId: number, attempt: number, startedAt: number): void {
    this.started[0] = startedAt;
    Atomics.store(this.ids, 1, attempt);
    Atomics.store(this.ids, 0, taskId);
  }

  clear(): void {
    Atomics.store(this.ids, 2, 0);
    Atomics.store(this.ids, 0, -1);
  }

  /** Records the process group of the command a bash app runs, so its owner can kill it. */
  setChild(pid: number): void {
    Atomics.store(this.ids, 2, pid);
  }

  /** The process group of the running bash command, if any. */
  child(): number {
    return Atomics.load(this.ids, 2);
  }

  /** The task running now, if any. */
  current(): { taskId: number; attempt: number; startedAt: number } | undefined {
    const taskId = Atomics.load(this.ids, 0);
    if (taskId < 0) return undefined;
    return { taskId, attempt: Atomics.load(this.ids, 1), startedAt: this.started[0]! };
  }
}

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
 * Runs tasks one at a time in the thread that owns it and reports their ends in batches.
 * One implementation serves the thread executor's workers and the block manager's workers.
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

  /**
   * @param post sends a message to the owner
   * @param slot shared memory where the running task is shown
   * @param poll takes a waiting message without going through the event loop, if any
   * @param idleSpinMs how long to poll for more work after the queue empties (0: sleep at once)
   */
  constructor(post: (msg: FromWorker) => void, slot?: RunningSlot, poll?: () => ToWorker | undefined, idleSpinMs = IDLE_SPIN_MS) {
    this.#post = post;
    this.#slot = slot;
    this.#poll = poll;
    this.#idleSpinMs = idleSpinMs;
  }

  receive(msg: ToWorker): void {
    this.#accept(msg);
    if (!this.#draining) void this.#drain();
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
    for (const task of msg.tasks) this.#queue.push(task);
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
        const task = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined as never;
        if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
          this.#queue.splice(0, this.#head);
          this.#head = 0;
        }
        await this.#runOne(task);
      }
    } finally {
      this.#draining = false;
      this.#queue.length = 0;
      this.#head = 0;
      this.#flush();
    }
  }

  async #runOne(task: WireTask): Promise<void> {
    const started = performance.now();
    if (this.#batchCount === 0) this.#batchStarted = started;
    this.#slot?.set(task.taskId, task.attempt, performance.timeOrigin + started);
    if (this.#lastTaskMs >= ANNOUNCE_AFTER_MS) {
      this.#post({ type: 'running', taskId: task.taskId, attempt: task.attempt });
    }
    let outcome: WireOutcome;
    try {
      let fn = this.#functions.get(task.fnId);
      if (fn === undefined) throw new Error(`internal: function ${task.fnId} was never sent to this worker`);
      if (typeof fn !== 'function') {
        fn = await fn;
        this.#functions.set(task.fnId, fn);
      }
      const args = task.args.map(decodeValue);
      let value: unknown = fn(...args);
      if (isPromiseLike(value) || task.kind === 'bash') {
        // It will take a while: let the owner have what is done so far.
        this.#flush();
        value = await withWalltime(Promise.resolve(value), task.walltimeMs);
        if (task.kind === 'bash') {
          value = await runBash(value as string, task.bash ?? { outputs: [] }, task.walltimeMs, (pid) => this.#slot?.setChild(pid));
        }
      }
      outcome = { taskId: task.taskId, attempt: task.attempt, ok: true, value: encodeResult(value) };
    } catch (error) {
      outcome = { taskId: task.taskId, attempt: task.attempt, ok: false, error: serializeError(error) };
    }
    this.#slot?.clear();
    const now = performance.now();
    this.#lastTaskMs = now - started;
    if (this.#outbox.length === 0) this.#outboxSince = now;
    this.#outbox.push(outcome);
    this.#batchCount++;
    if (this.#outbox.length >= FLUSH_AFTER_COUNT || now - this.#outboxSince >= FLUSH_AFTER_MS) this.#flush();
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

function withWalltime<T>(promise: Promise<T>, walltimeMs: number | undefined): Promise<T> {
  if (walltimeMs === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new AppTimeout(walltimeMs)), walltimeMs);
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

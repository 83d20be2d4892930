/**
 * Monitoring events in a compact form, for the DFK's hot path. A task makes about eight events
 * (submitted, its states, its try's launch, start and return); as objects, building them and
 * structured-cloning them to the writer's thread cost the DFK more than the writer's inserts.
 * Here each common event is a few numbers pushed on one array (its strings, such as state
 * and app names, go once per batch into a string table), in `Float64Array` chunks that are
 * transferred: the DFK's thread neither allocates an object per event nor copies one. The writer's thread
 * turns them back into `MonitoringEvent`s (`decodeBatch`). Rare or large events (a failure, a
 * bash app's paths, the workflow's start) travel as objects, in order with the others.
 */
import type { MonitoringEvent } from './events.ts';

/** One batch: the events of one DFK message, in order. */
export interface CompactBatch {
  runId: string;
  /** Records, each opening with its op code (see `OP`); a record never spans two chunks. */
  chunks: Float64Array[];
  strings: string[];
  /** The events sent whole (op `EVENT` names their index). */
  events: MonitoringEvent[];
}

/**
 * Op codes and the numbers that follow each. The common pairs of events (a task's state and
 * its try's record of the same moment) are one record each: three records per task.
 */
const OP = {
  /** taskId, tryId, time, state (string) */
  STATE: 1,
  /** taskId, tryId, time, executor (string): the state `launched` and the try's launch */
  LAUNCHED: 2,
  /** taskId, tryId, time: the state `running` and the try's start */
  RUNNING: 3,
  /** taskId, tryId, time: the try's return and the state `exec_done` */
  RETURNED: 4,
  /**
   * taskId, time, funcName (string), memoize (0/1), args summary, n, then n dependency ids: the
   * task and its state `pending`. The summary is -1 (none), a string's index, or -2 - k for a
   * call of k numbers, which follow the dependencies (the writer writes the summary).
   */
  SUBMITTED: 5,
  /** index in `events` */
  EVENT: 6,
} as const;

/**
 * Most numbers a call may have for `submittedNumbers`: their summary stays under the 200
 * characters that `summarizeArguments` cuts at (a number is at most 26 characters).
 */
export const MAX_NUMBER_ARGS = 6;

/** Numbers per chunk (256 KiB): a 100k-task submit fills a few dozen, handed over without a copy. */
const CHUNK = 32_768;

/** Builds one batch at a time; `take()` hands it over and starts the next. */
export class CompactBatchBuilder {
  readonly #runId: string;
  /** The chunk being filled (a typed array, so that a number is stored unboxed), and the full ones. */
  #nums = new Float64Array(CHUNK);
  #length = 0;
  #full: Float64Array[] = [];
  #strings: string[] = [];
  readonly #index = new Map<string, number>();
  #events: MonitoringEvent[] = [];

  constructor(runId: string) {
    this.#runId = runId;
  }

  get empty(): boolean {
    return this.#length === 0 && this.#full.length === 0;
  }

  /** Room for `n` more numbers; returns where they go. */
  #room(n: number): number {
    let at = this.#length;
    if (at + n > this.#nums.length) {
      this.#full.push(this.#nums.subarray(0, at));
      this.#nums = new Float64Array(Math.max(CHUNK, n));
      at = 0;
    }
    this.#length = at + n;
    return at;
  }

  #put5(a: number, b: number, c: number, d: number, e: number): void {
    const at = this.#room(5);
    const nums = this.#nums;
    nums[at] = a;
    nums[at + 1] = b;
    nums[at + 2] = c;
    nums[at + 3] = d;
    nums[at + 4] = e;
  }

  #put4(a: number, b: number, c: number, d: number): void {
    const at = this.#room(4);
    const nums = this.#nums;
    nums[at] = a;
    nums[at + 1] = b;
    nums[at + 2] = c;
    nums[at + 3] = d;
  }

  #str(value: string): number {
    let i = this.#index.get(value);
    if (i === undefined) {
      i = this.#strings.push(value) - 1;
      this.#index.set(value, i);
    }
    return i;
  }

  state(taskId: number, tryId: number, time: number, state: string): void {
    this.#put5(OP.STATE, taskId, tryId, time, this.#str(state));
  }

  /** The task is `launched`: its try is on `executor`. */
  launched(taskId: number, tryId: number, time: number, executor: string): void {
    this.#put5(OP.LAUNCHED, taskId, tryId, time, this.#str(executor));
  }

  /** The task is `running`: its try started. */
  running(taskId: number, tryId: number, time: number): void {
    this.#put4(OP.RUNNING, taskId, tryId, time);
  }

  /** The try returned: the task is `exec_done`. */
  returned(taskId: number, tryId: number, time: number): void {
    this.#put4(OP.RETURNED, taskId, tryId, time);
  }

  /** A new task, `pending`. */
  submitted(taskId: number, time: number, funcName: string, memoize: boolean, argsSummary: string | undefined, depends: readonly number[]): void {
    // Not looked up: a summary is seldom the same twice, and hashing each one costs more than it saves.
    const summary = argsSummary === undefined ? -1 : this.#strings.push(argsSummary) - 1;
    this.#submitted(taskId, time, funcName, memoize, summary, depends, 0);
  }

  /**
   * A new task, `pending`, called with `numbers` alone (at most `MAX_NUMBER_ARGS`): they travel
   * as numbers and the writer's thread writes the summary, `(1, 2.5)`, as `summarizeArguments`
   * would. A sweep over numbers is the common call; its summary strings were most of what the
   * DFK allocated for monitoring.
   */
  submittedNumbers(taskId: number, time: number, funcName: string, memoize: boolean, numbers: readonly number[], depends: readonly number[]): void {
    const at = this.#submitted(taskId, time, funcName, memoize, -2 - numbers.length, depends, numbers.length);
    const nums = this.#nums;
    for (let i = 0; i < numbers.length; i++) nums[at + i] = numbers[i]!;
  }

  /** Writes a SUBMITTED record with room for `extra` numbers after it; returns where they go. */
  #submitted(taskId: number, time: number, funcName: string, memoize: boolean, summary: number, depends: readonly number[], extra: number): number {
    const n = depends.length;
    const at = this.#room(7 + n + extra);
    const nums = this.#nums;
    nums[at] = OP.SUBMITTED;
    nums[at + 1] = taskId;
    nums[at + 2] = time;
    nums[at + 3] = this.#str(funcName);
    nums[at + 4] = memoize ? 1 : 0;
    nums[at + 5] = summary;
    nums[at + 6] = n;
    for (let i = 0; i < n; i++) nums[at + 7 + i] = depends[i]!;
    return at + 7 + n;
  }

  /** Any event, whole. */
  event(event: MonitoringEvent): void {
    const index = this.#events.push(event) - 1;
    const at = this.#room(2);
    this.#nums[at] = OP.EVENT;
    this.#nums[at + 1] = index;
  }

  /** The batch so far (undefined if empty); the builder starts a new one. */
  take(): CompactBatch | undefined {
    if (this.empty) return undefined;
    // The chunk being filled is copied out (a few KiB for a DFK message's batch) and kept for
    // the next batch: handing it over would allocate a fresh 256 KiB chunk per batch, which the
    // GC then has to collect. Full chunks are handed over whole.
    const chunks = this.#full;
    if (this.#length > 0) chunks.push(this.#nums.slice(0, this.#length));
    this.#full = [];
    this.#length = 0;
    const batch: CompactBatch = { runId: this.#runId, chunks, strings: this.#strings, events: this.#events };
    this.#strings = [];
    this.#index.clear();
    this.#events = [];
    return batch;
  }
}

/** The events of a batch, in order. */
export function decodeBatch(batch: CompactBatch, each: (event: MonitoringEvent) => void): void {
  for (const chunk of batch.chunks) decodeChunk(batch, chunk, each);
}

/** The buffers to transfer with a batch. */
export function transferList(batch: CompactBatch): ArrayBuffer[] {
  return batch.chunks.map((c) => c.buffer as ArrayBuffer);
}

function decodeChunk(batch: CompactBatch, nums: Float64Array, each: (event: MonitoringEvent) => void): void {
  const { runId, strings, events } = batch;
  const str = (i: number) => strings[i]!;
  let i = 0;
  while (i < nums.length) {
    const op = nums[i]!;
    switch (op) {
      case OP.STATE:
        each({ type: 'task-state', runId, taskId: nums[i + 1]!, tryId: nums[i + 2]!, time: nums[i + 3]!, state: str(nums[i + 4]!) });
        i += 5;
        break;
      case OP.LAUNCHED: {
        const [taskId, tryId, time] = [nums[i + 1]!, nums[i + 2]!, nums[i + 3]!];
        each({ type: 'task-state', runId, taskId, tryId, time, state: 'launched' });
        each({ type: 'try-launched', runId, taskId, tryId, time, executor: str(nums[i + 4]!) });
        i += 5;
        break;
      }
      case OP.RUNNING: {
        const [taskId, tryId, time] = [nums[i + 1]!, nums[i + 2]!, nums[i + 3]!];
        each({ type: 'task-state', runId, taskId, tryId, time, state: 'running' });
        each({ type: 'try-running', runId, taskId, tryId, time });
        i += 4;
        break;
      }
      case OP.RETURNED: {
        const [taskId, tryId, time] = [nums[i + 1]!, nums[i + 2]!, nums[i + 3]!];
        each({ type: 'try-returned', runId, taskId, tryId, time });
        each({ type: 'task-state', runId, taskId, tryId, time, state: 'exec_done' });
        i += 4;
        break;
      }
      case OP.SUBMITTED: {
        const summary = nums[i + 5]!;
        const n = nums[i + 6]!;
        const taskId = nums[i + 1]!;
        const time = nums[i + 2]!;
        const numbers = summary <= -2 ? -2 - summary : 0;
        each({
          type: 'task-submitted',
          runId,
          taskId,
          time,
          funcName: str(nums[i + 3]!),
          memoize: nums[i + 4] === 1,
          argsSummary: summary >= 0 ? str(summary) : summary === -1 ? undefined : `(${nums.subarray(i + 7 + n, i + 7 + n + numbers).join(', ')})`,
          depends: Array.from(nums.subarray(i + 7, i + 7 + n)),
        });
        each({ type: 'task-state', runId, taskId, tryId: 0, time, state: 'pending' });
        i += 7 + n + numbers;
        break;
      }
      case OP.EVENT:
        each(events[nums[i + 1]!]!);
        i += 2;
        break;
      default:
        throw new RangeError(`monitoring: a compact batch holds op ${op} at ${i}; expected 1 to 6`);
    }
  }
}

/**
 * The shared memory between a worker thread and its owner (the worker actor): which try the
 * thread runs, since when, in which phase, and a bell the owner rings to ask for an answer.
 * The owner reads it without a message, so it sees a thread busy in synchronous code.
 */

/** What the running task is doing, as `RunningSlot.phase()` shows it to the owner. */
export const PHASE_IDLE = 0;
/** Inside the app's function: the thread answers nothing until it returns. */
export const PHASE_SYNC = 1;
/** Awaiting an async app or a bash command: the thread's event loop is free. */
export const PHASE_AWAITING = 2;

/** Shared memory through which the owner of a worker sees which task it is running. */
export class RunningSlot {
  /**
   * [taskId, attempt, pid of a bash app's command or 0, phase, control calls on their way];
   * taskId -1 when idle.
   */
  readonly ids: Int32Array;
  /** [start time in ms since the time origin of the owner] */
  readonly started: Float64Array;

  constructor(buffer = new SharedArrayBuffer(32)) {
    this.ids = new Int32Array(buffer, 0, 5);
    this.started = new Float64Array(buffer, 24, 1);
    Atomics.store(this.ids, 0, -1);
  }

  get buffer(): SharedArrayBuffer {
    return this.ids.buffer as SharedArrayBuffer;
  }

  set(taskId: number, attempt: number, startedAt: number): void {
    this.started[0] = startedAt;
    Atomics.store(this.ids, 3, PHASE_SYNC);
    Atomics.store(this.ids, 1, attempt);
    Atomics.store(this.ids, 0, taskId);
  }

  clear(): void {
    Atomics.store(this.ids, 2, 0);
    Atomics.store(this.ids, 3, PHASE_IDLE);
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

  setPhase(phase: number): void {
    Atomics.store(this.ids, 3, phase);
  }

  /** PHASE_SYNC, PHASE_AWAITING, or PHASE_IDLE. */
  phase(): number {
    return Atomics.load(this.ids, 3);
  }

  /**
   * The owner rings before a control call (a cancel) and the thread answers after handling
   * it: a thread running a row of synchronous tasks never returns to its event loop, where
   * control calls arrive, unless it knows one is waiting.
   */
  ring(): void {
    Atomics.add(this.ids, 4, 1);
  }

  answered(): void {
    if (Atomics.sub(this.ids, 4, 1) <= 0) Atomics.store(this.ids, 4, 0);
  }

  silence(): void {
    Atomics.store(this.ids, 4, 0);
  }

  ringing(): boolean {
    return Atomics.load(this.ids, 4) > 0;
  }

  /** The task running now, if any. */
  current(): { taskId: number; attempt: number; startedAt: number } | undefined {
    const taskId = Atomics.load(this.ids, 0);
    if (taskId < 0) return undefined;
    return { taskId, attempt: Atomics.load(this.ids, 1), startedAt: this.started[0]! };
  }
}

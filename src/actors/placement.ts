/**
 * Where the DFK sends an app that may run on several executors: to the one with the most free
 * capacity, not at random. Capacity is what each executor can run at once (a thread pool's
 * `maxThreads`; an HTEX's registered workers, as its blocks report them); load is the tries the
 * DFK has handed it and not yet had back (queued there or running). A site that is full or slow
 * keeps its tries longer and so gets fewer new ones; a site out of reach gets none while
 * another is in reach.
 *
 * Pinned apps (`executors: ['theta']`) are not placed: they go where they are pinned.
 */
import type { Executor } from '../executors/executor.ts';
import type { TaskRecord } from '../dataflow/task.ts';

interface Room {
  /** Tries it can run at once (0 until an HTEX's first block registers). */
  slots: number;
  /** False while the executor's site is out of reach. */
  available: boolean;
  /** Tries handed to it and not yet ended or moved. */
  load: number;
}

export class Placement {
  readonly #rooms = new Map<string, Room>();
  /** Where each launched task's current try is. */
  readonly #where = new Map<number, string>();
  #turn = 0;
  /**
   * Whether loads are kept: with one executor there is nothing to choose between, and the
   * entry per launched try in `#where` was ~60 bytes of each of a million pending tries.
   */
  readonly #tracking: boolean;

  constructor(executors: readonly Executor[]) {
    for (const executor of executors) {
      const maxThreads = (executor as { options?: { maxThreads?: unknown } }).options?.maxThreads;
      this.#rooms.set(executor.label, { slots: typeof maxThreads === 'number' ? maxThreads : 0, available: true, load: 0 });
    }
    this.#tracking = this.#rooms.size > 1;
  }

  /** An executor told its capacity. */
  update(label: string, slots: number, available: boolean): void {
    const room = this.#rooms.get(label);
    if (!room) return;
    room.slots = slots;
    room.available = available;
  }

  isAvailable(label: string): boolean {
    return this.#rooms.get(label)?.available ?? true;
  }

  /**
   * The executor with the lowest load per slot among those in reach (`(load + 1) / slots`,
   * an executor with no slot yet counting as one); ties go round in turn. When none of them is
   * in reach, the least loaded of all (the executor holds or fails the try).
   */
  choose(allowed: readonly string[]): string {
    if (allowed.length === 1) return allowed[0]!;
    const inReach = allowed.filter((label) => this.isAvailable(label));
    const candidates = inReach.length > 0 ? inReach : allowed;
    const start = this.#turn++ % candidates.length;
    let best = candidates[start]!;
    let bestScore = Infinity;
    for (let i = 0; i < candidates.length; i++) {
      const label = candidates[(start + i) % candidates.length]!;
      const room = this.#rooms.get(label);
      const score = room ? (room.load + 1) / Math.max(1, room.slots) : Infinity;
      if (score < bestScore) {
        best = label;
        bestScore = score;
      }
    }
    return best;
  }

  /** A try of `taskId` was handed to `label` (a retry's previous try no longer counts). */
  launched(taskId: number, label: string): void {
    if (!this.#tracking) return;
    this.ended(taskId);
    this.#where.set(taskId, label);
    const room = this.#rooms.get(label);
    if (room) room.load++;
  }

  /** The task ended (or its try is being moved): it no longer loads its executor. */
  ended(taskId: number): void {
    const label = this.#where.get(taskId);
    if (label === undefined) return;
    this.#where.delete(taskId);
    const room = this.#rooms.get(label);
    if (room) room.load--;
  }

  /** Is there an executor in reach, other than `label`, among `allowed`? */
  hasAlternative(allowed: readonly string[], label: string): boolean {
    return allowed.some((other) => other !== label && this.isAvailable(other) && this.#rooms.has(other));
  }

  /**
   * The tasks with a try on `label` (out of reach) that may run elsewhere: unpinned, not being
   * cancelled, with an executor in reach among those they allow. Pinned ones wait there.
   */
  movable(label: string, records: Iterable<TaskRecord>, labels: readonly string[]): TaskRecord[] {
    const moving: TaskRecord[] = [];
    for (const record of records) {
      const { future } = record;
      if (record.executor !== label || future.cancelRequested || (future.state !== 'launched' && future.state !== 'running')) continue;
      const allowed = record.app.options.executors === 'all' ? labels : record.app.options.executors;
      if (this.hasAlternative(allowed, label)) moving.push(record);
    }
    return moving;
  }

  /** Load of each executor (for tests and the bench; 0 with a single executor, whose load is not kept). */
  loads(): Record<string, number> {
    return Object.fromEntries([...this.#rooms].map(([label, room]) => [label, room.load]));
  }
}

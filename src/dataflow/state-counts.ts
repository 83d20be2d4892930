import type { TaskState } from '../apps/task-states.ts';

/**
 * How many tasks of the run are in each state (`dfk().taskStateCounts`), kept as tasks move,
 * so that reading it costs nothing whatever the number of tasks. The kernel counts a new
 * task as `pending`; the DFK supervisor moves it on each transition.
 */
export class TaskStateCounts {
  readonly #counts = new Map<TaskState, number>();

  add(state: TaskState): void {
    this.#counts.set(state, (this.#counts.get(state) ?? 0) + 1);
  }

  move(from: TaskState, to: TaskState): void {
    const left = (this.#counts.get(from) ?? 0) - 1;
    if (left > 0) this.#counts.set(from, left);
    else this.#counts.delete(from);
    this.add(to);
  }

  /** A copy: state → number of tasks in it (states without tasks are left out). */
  snapshot(): Partial<Record<TaskState, number>> {
    return Object.fromEntries(this.#counts) as Partial<Record<TaskState, number>>;
  }
}

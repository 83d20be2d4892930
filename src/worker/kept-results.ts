/**
 * The worker's side of tasks sent ahead of their dependency (wire/protocol.ts `SentAhead`): the
 * results a worker keeps because a task it holds will take them as an argument. A worker runs
 * its tasks one at a time in the order they came, so a dependency that is queued or running
 * here when its dependent arrives has ended before the dependent runs. A result is kept only
 * while a task here still expects it, so nothing piles up.
 */
import type { SentAhead, WireOutcome, WireTask } from '../wire/protocol.ts';

const keyOf = (after: SentAhead): string => `${after.taskId}:${after.attempt}`;

export class KeptResults {
  /** Tries whose result a task here expects, and how many tasks expect each. */
  readonly #expected = new Map<string, number>();
  /** Encoded values of expected tries that succeeded here. */
  readonly #kept = new Map<string, unknown>();

  /** A task arrived: if it was sent ahead, its dependency's result is to be kept. */
  expect(task: WireTask): void {
    if (!task.after) return;
    const key = keyOf(task.after);
    this.#expected.set(key, (this.#expected.get(key) ?? 0) + 1);
  }

  /** A try ended here: its value is kept if a task expects it. */
  ended(outcome: WireOutcome): void {
    if (this.#expected.size === 0 || !outcome.ok) return;
    const key = `${outcome.taskId}:${outcome.attempt}`;
    if (this.#expected.has(key)) this.#kept.set(key, outcome.value);
  }

  /**
   * The arguments of a task sent ahead, its dependency's value in place, or undefined when that
   * value is not here (the try failed, or ended before the task arrived). Either way the task
   * no longer expects it. A task not sent ahead gets its own arguments.
   */
  argumentsOf(task: WireTask): unknown[] | undefined {
    const { after } = task;
    if (!after) return task.args;
    const key = keyOf(after);
    const found = this.#kept.has(key);
    const value = this.#kept.get(key);
    this.release(task);
    if (!found) return undefined;
    const args = task.args.slice();
    args[after.index] = value;
    return args;
  }

  /** The task will not run (cancelled): it no longer expects anything. */
  release(task: WireTask): void {
    if (!task.after) return;
    const key = keyOf(task.after);
    const left = (this.#expected.get(key) ?? 1) - 1;
    if (left > 0) return void this.#expected.set(key, left);
    this.#expected.delete(key);
    this.#kept.delete(key);
  }
}

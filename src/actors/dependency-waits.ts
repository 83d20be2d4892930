/**
 * How the DFK waits for what a task depends on (its arguments' futures, and what a join app
 * returned), and reads their values once settled. Futures of this kernel settle while the DFK
 * handles a message, so the wait ends at once, inside the actor; anything else (a promise
 * from elsewhere) settles outside it, so its end comes back as a message, and its value is
 * kept on the task's record, for it cannot be read synchronously later.
 */
import { BaseFuture } from '../apps/future.ts';
import { settledFutureValue, type DependencyValue } from '../dataflow/arguments.ts';
import type { TaskRecord } from '../dataflow/task.ts';

export class DependencyWaits {
  /** True while the DFK handles a message. */
  readonly #inReceive: () => boolean;
  /** Runs `fn` in the DFK, as a message of its own. */
  readonly #call: (fn: () => void) => void;

  constructor(inReceive: () => boolean, call: (fn: () => void) => void) {
    this.#inReceive = inReceive;
    this.#call = call;
  }

  /** Runs `then` inside the DFK once `dep` settles. */
  whenSettled(dep: PromiseLike<unknown>, record: TaskRecord, then: () => void): void {
    if (dep instanceof BaseFuture) {
      dep.onSettled(() => (this.#inReceive() ? then() : this.#call(then)));
      return;
    }
    Promise.resolve(dep).then(
      (value) => this.#call(() => (remember(record, dep, true, value), then())),
      (error: unknown) => this.#call(() => (remember(record, dep, false, error), then())),
    );
  }

  /** The value of `dep`, settled. */
  valueOf(record: TaskRecord, dep: PromiseLike<unknown>): DependencyValue {
    if (dep instanceof BaseFuture) return settledFutureValue(dep);
    const settled = record.foreign?.get(dep);
    if (!settled) return { failed: true, error: new Error('internal: dependency not settled'), dep };
    return settled.ok ? { failed: false, value: settled.value } : { failed: true, error: settled.value, dep };
  }
}

function remember(record: TaskRecord, dep: PromiseLike<unknown>, ok: boolean, value: unknown): void {
  (record.foreign ??= new Map()).set(dep, { ok, value });
}

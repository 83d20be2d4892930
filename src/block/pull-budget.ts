/**
 * How many batches a block may hold, between the puller and the block manager actor: a
 * batch counts from when it is pulled until its tasks have run (not until its results are
 * stored), so the next batch is pulled while the last one's results are being stored.
 */
export class PullBudget {
  #capacity: number;
  #inUse = 0;
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get free(): number {
    return this.#capacity - this.#inUse;
  }

  /** Draining: nothing more is pulled, and what a pull already under way brings is handed back. */
  get closed(): boolean {
    return this.#closed;
  }

  take(): void {
    this.#inUse++;
  }

  release(): void {
    this.#inUse--;
    this.#wake?.();
  }

  /** Draining: pull nothing more. */
  close(): void {
    this.#capacity = 0;
    this.#closed = true;
    this.#wake?.();
  }

  /** Resolves when a batch is released (or the budget closed), or after `ms`. */
  waitForRoom(ms: number): Promise<void> {
    return new Promise((resolve) => {
      // An arrow bound to a const: the build leaves it unwrapped (scripts/build-names.mjs), where a
      // nested function declaration is named with a defineProperty at each wait.
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}

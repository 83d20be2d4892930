/// <reference lib="es2024.sharedmemory" />
/**
 * An Atomics handshake between a test and the apps it runs, so that a test knows a task is
 * running because the task said so, never because some milliseconds passed (piscina's
 * test/fixtures/notify-then-sleep.ts).
 *
 *   const gate = new Gate();
 *   const held = app(holdUntilReleased);
 *   const f = held(gate.buffer, 'x');
 *   await gate.started();     // the app runs now, and waits
 *   …                         // look at the world while it is held
 *   gate.release();           // every held app (and every later one) returns
 *
 * Cell 0 counts the apps that called in; cell 1 is the release flag. The buffer is passed to the
 * app as an argument (a SharedArrayBuffer crosses to a worker thread shared, not copied).
 */
export class Gate {
  readonly buffer = new SharedArrayBuffer(8);
  readonly #cells = new Int32Array(this.buffer);

  /** How many apps have called in so far (a retried or relaunched task counts again). */
  get count(): number {
    return Atomics.load(this.#cells, 0);
  }

  /** Resolves once `n` apps have called in; rejects after `ms` (a guard, not a synchronisation). */
  async started(n = 1, ms = 60_000): Promise<void> {
    const error = new Error(`timed out waiting for ${n} app(s) to start (${this.count} did)`);
    const until = Date.now() + ms;
    for (;;) {
      const seen = Atomics.load(this.#cells, 0);
      if (seen >= n) return;
      const left = until - Date.now();
      if (left <= 0) throw error;
      const waited = Atomics.waitAsync(this.#cells, 0, seen, left);
      if (waited.async) await waited.value;
    }
  }

  /** Lets every held app return, and every later one pass straight through. */
  release(): void {
    Atomics.store(this.#cells, 1, 1);
    Atomics.notify(this.#cells, 1);
  }
}

/**
 * An app body (pass it to `app()`): calls in at the gate, then blocks its worker thread until the
 * test releases the gate, and returns `value`. Self-contained, so it can be rebuilt in a worker.
 * The 120 s bound only keeps a failed test from blocking a thread for ever.
 */
export function holdUntilReleased<T>(buffer: SharedArrayBuffer, value: T): T {
  const cells = new Int32Array(buffer);
  Atomics.add(cells, 0, 1);
  Atomics.notify(cells, 0);
  Atomics.wait(cells, 1, 0, 120_000);
  return value;
}

/**
 * Like `holdUntilReleased`, but awaits the release: its worker thread's event loop stays free
 * (an async app that waits on I/O), so the thread still answers its owner's control calls.
 */
export async function awaitRelease<T>(buffer: SharedArrayBuffer, value: T): Promise<T> {
  const cells = new Int32Array(buffer);
  Atomics.add(cells, 0, 1);
  Atomics.notify(cells, 0);
  const waited = Atomics.waitAsync(cells, 1, 0, 120_000);
  if (waited.async) await waited.value;
  return value;
}

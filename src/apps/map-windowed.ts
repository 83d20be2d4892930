import { ConfigError } from '../common/errors.ts';
import { isThenable } from './future.ts';

/**
 * Options of `mapWindowed`.
 *
 * @example
 * ```ts
 * for await (const y of mapWindowed(double, inputs, { window: 500, ordered: false })) console.log(y);
 * ```
 */
export interface MapWindowedOptions {
  /**
   * At most this many calls are in flight (called and not yet handed to the consumer): the
   * memory a stream of any length needs is that of `window` tasks.
   * @default 1000
   */
  window?: number;
  /**
   * Yield results in the order of the inputs (a slow call holds back the ones after it, and
   * the window waits for it), or as each call ends (`false`).
   * @default true
   */
  ordered?: boolean;
}

/** Default `window` of `mapWindowed`: enough to keep a few thousand workers busy. */
export const DEFAULT_MAP_WINDOW = 1000;

/**
 * Calls `fn` (an app, or any function that returns a future or a promise) on each item of
 * `items`, with at most `window` calls in flight, and yields their results. For streams too
 * long to hold every future at once (Parsl users write a semaphore for this: Parsl issue
 * #2946): 10 million calls through a window of 1,000 keep about 1,000 tasks in memory.
 *
 * ```ts
 * for await (const y of mapWindowed(double, range(10_000_000), { window: 1000 })) total += y;
 * ```
 *
 * A call that fails makes the loop throw its error (with `ordered: false`, when it ends);
 * the calls already in flight go on, and no new ones are made. `items` is read only as the
 * window opens, so it may be an endless generator.
 *
 * @example
 * ```ts
 * const double = app((x: number) => x * 2);
 * let total = 0;
 * for await (const y of mapWindowed(double, [1, 2, 3])) total += y;   // 12
 * ```
 */
export async function* mapWindowed<T, R>(
  fn: (item: T) => PromiseLike<R>,
  items: Iterable<T> | AsyncIterable<T>,
  options: MapWindowedOptions = {},
): AsyncGenerator<R, void, undefined> {
  const window = options.window ?? DEFAULT_MAP_WINDOW;
  if (!Number.isSafeInteger(window) || window < 1) {
    throw new ConfigError('mapWindowed.window', `expected a positive integer; got ${String(window)}`);
  }
  if (typeof fn !== 'function') throw new ConfigError('mapWindowed.fn', `expected an app or a function; got ${typeof fn}`);
  const source = Symbol.asyncIterator in Object(items) ? (items as AsyncIterable<T>)[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
  if (options.ordered ?? true) yield* ordered(fn, source, window);
  else yield* unordered(fn, source, window);
}

type Source<T> = Iterator<T> | AsyncIterator<T>;

/**
 * The window is refilled once this share of it is free, all at once: calls made in one go
 * reach the DFK as one submission and the workers as one batch. Refilled one call per result,
 * a million calls were a million submissions, launches and thread messages of one task each
 * (measured: ~3 times the CPU per task of the same calls made in a loop).
 */
const REFILL_SHARE = 8;

/** Where the window is refilled: at most this many calls in flight. */
function refillAt(window: number): number {
  return window - Math.max(1, Math.floor(window / REFILL_SHARE));
}

async function* ordered<T, R>(fn: (item: T) => PromiseLike<R>, source: Source<T>, window: number): AsyncGenerator<R> {
  // A ring of the calls in flight, oldest first.
  const ring: PromiseLike<R>[] = [];
  let head = 0;
  let exhausted = false;
  const low = refillAt(window);
  for (;;) {
    if (ring.length - head <= low) {
      while (!exhausted && ring.length - head < window) {
        // No await for a synchronous source: a turn of the microtask queue per item would let
        // the kernel send each call as a submission of its own.
        const step = source.next();
        const next = isThenable(step) ? await step : step;
        if (next.done) exhausted = true;
        else ring.push(quiet(fn(next.value)));
      }
    }
    if (head === ring.length) return;
    const oldest = ring[head]!;
    ring[head++] = undefined as unknown as PromiseLike<R>;
    if (head > 1024 && head * 2 > ring.length) {
      ring.splice(0, head);
      head = 0;
    }
    yield await oldest;
  }
}

async function* unordered<T, R>(fn: (item: T) => PromiseLike<R>, source: Source<T>, window: number): AsyncGenerator<R> {
  // Ends not yet yielded, oldest first from `head`.
  let ended: Array<{ ok: true; value: R } | { ok: false; error: unknown }> = [];
  let head = 0;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let exhausted = false;
  const low = refillAt(window);
  for (;;) {
    if (inFlight + ended.length - head <= low) {
      while (!exhausted && inFlight + ended.length - head < window) {
        // No await for a synchronous source: a turn of the microtask queue per item would let
        // the kernel send each call as a submission of its own.
        const step = source.next();
        const next = isThenable(step) ? await step : step;
        if (next.done) exhausted = true;
        else {
          inFlight++;
          fn(next.value).then(
            (value) => settle({ ok: true, value }),
            (error: unknown) => settle({ ok: false, error }),
          );
        }
      }
    }
    if (head === ended.length) {
      ended = [];
      head = 0;
      if (inFlight === 0) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    const first = ended[head]!;
    ended[head++] = undefined as never;
    if (head > 1024 && head * 2 > ended.length) {
      ended.splice(0, head);
      head = 0;
    }
    if (!first.ok) throw first.error;
    yield first.value;
  }

  function settle(result: { ok: true; value: R } | { ok: false; error: unknown }): void {
    inFlight--;
    ended.push(result);
    const w = wake;
    wake = undefined;
    w?.();
  }
}

/**
 * The call's result as a promise that is observed at once: a call that fails while earlier
 * ones are still being awaited must not count as an unhandled rejection; it is thrown to the
 * loop when its turn comes.
 */
function quiet<R>(call: PromiseLike<R>): PromiseLike<R> {
  const promise = Promise.resolve(call);
  promise.catch(() => {});
  return promise;
}

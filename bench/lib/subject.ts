/** What the benchmark measures, each in its own unit. */
export const METRICS = {
  throughput: { unit: 'apps/s', higherIsBetter: true },
  throughputBatched: { unit: 'apps/s', higherIsBetter: true },
  chain: { unit: 'ms/link', higherIsBetter: false },
  chainAwaited: { unit: 'ms/link', higherIsBetter: false },
  linkP50: { unit: 'ms', higherIsBetter: false },
  linkP99: { unit: 'ms', higherIsBetter: false },
  heapDropped: { unit: 'B/task', higherIsBetter: false },
  heapKept: { unit: 'B/task', higherIsBetter: false },
  /**
   * CPU time (user + system) per task of the throughput runs, and per link of the chains, of
   * the process that calls (the DFK, the raw requester)…
   */
  cpuDriver: { unit: 'µs/task', higherIsBetter: false },
  chainCpuDriver: { unit: 'µs/task', higherIsBetter: false },
  /** …of the nats-server… */
  cpuNats: { unit: 'µs/task', higherIsBetter: false },
  chainCpuNats: { unit: 'µs/task', higherIsBetter: false },
  /** …and of the processes that run the tasks (the blocks, the raw responder), summed. */
  cpuRunners: { unit: 'µs/task', higherIsBetter: false },
  chainCpuRunners: { unit: 'µs/task', higherIsBetter: false },
} as const;
export type MetricId = keyof typeof METRICS;

/** Sizes of one run's measurements. */
export interface Sizes {
  tasks: number;
  chain: number;
  memTasks: number;
  /** No-op tasks of the untimed warm-up. */
  warmup: number;
}

/**
 * One thing measured: parsl-ts's thread executor, or a baseline. Each measurement returns a
 * value in its metric's unit and checks the results it got, so that a broken subject fails
 * loudly instead of looking fast.
 */
export interface Subject {
  readonly label: string;
  /** Starts the threads and waits until every one has answered. */
  start(): Promise<void>;
  /** Untimed work so that JIT and pools are warm before the first timed run. */
  warmUp(sizes: Sizes): Promise<void>;
  readonly measure: Partial<Record<MetricId, (sizes: Sizes) => Promise<Measured>>>;
  stop(): Promise<void>;
}

/** A measurement's value, and other metrics the same run yielded (percentiles of its links). */
export type Measured = number | { value: number; also: Partial<Record<MetricId, number>> };

/**
 * Per-link percentiles of a chain whose links were timed one by one: the median shows the
 * typical round trip, the 99th percentile the stalls (a descheduled thread, a GC) that the
 * mean per link also pays for.
 */
export function withLinkPercentiles(totalMs: number, links: Float64Array): Measured {
  const sorted = Float64Array.from(links).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { value: totalMs / links.length, also: { linkP50: at(0.5), linkP99: at(0.99) } };
}

/** Milliseconds, high resolution. */
export const now = (): number => performance.now();

/** Throws if `actual` is not what the subject should have computed. */
export function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

/** Checks that every no-op result is 0, without allocating. */
export function expectAllZero(what: string, values: ArrayLike<unknown>, count: number): void {
  expectEqual(`${what}: result count`, values.length, count);
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) expectEqual(`${what}: result ${i}`, values[i], 0);
}

const forceGc = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('global.gc is missing: run node with --expose-gc (bench/threads.ts re-spawns itself with it)');
  gc();
};

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Collects garbage until the heap stops shrinking (at most a few rounds), letting the event
 * loop turn in between so that pending callbacks and finalizers run, and returns the heap
 * in use, in bytes.
 */
export async function settledHeap(): Promise<number> {
  let last = Infinity;
  for (let round = 0; round < 6; round++) {
    await turn();
    forceGc();
    const used = process.memoryUsage().heapUsed;
    if (round >= 2 && used >= last - 1024) return used;
    last = used;
  }
  return last;
}

/** A full collection before a timed run, so that the last run's garbage is not charged to it. */
export async function quiesce(): Promise<void> {
  await turn();
  forceGc();
  await turn();
}

/**
 * Heap kept per finished task. `run(n, keep)` runs `n` tasks to the end; when `keep` is
 * given it stores whatever the subject returns for each task (a future, a promise) in it.
 * The array is allocated before the baseline, so its 8 bytes per slot are not counted.
 */
export async function heapPerTask(
  n: number,
  keepResults: boolean,
  run: (n: number, keep: unknown[] | undefined) => Promise<void>,
): Promise<number> {
  const keep: unknown[] | undefined = keepResults ? [] : undefined;
  if (keep) for (let i = 0; i < n; i++) keep.push(null);
  const before = await settledHeap();
  await run(n, keep);
  const after = await settledHeap();
  // Read after the measurement, so the array (and what it holds) is alive until then.
  if (keep && keep.length !== n) throw new Error('kept array changed size');
  return (after - before) / n;
}

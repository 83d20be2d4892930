/**
 * Pure computations behind the dashboard's views, on rows already read: kept apart from
 * SQL so that each can be tested and reused (a notebook may call them on its own rows).
 */

/** The value below which `q` of `sorted` falls (nearest rank); NaN for none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Gives each interval a lane (a worker slot) within its group: the first lane free at its
 * start, as a Gantt by worker needs. Parsl's schema names the block and host of a try, not
 * the worker, so lanes stand for the workers a block ran at once.
 */
export function assignLanes<T extends { group: string; start: number; end: number }>(items: T[]): (T & { lane: number })[] {
  const byStart = [...items].sort((a, b) => a.start - b.start);
  const free = new Map<string, number[]>(); // group -> end time of each lane
  return byStart.map((item) => {
    const lanes = free.get(item.group) ?? [];
    free.set(item.group, lanes);
    let lane = lanes.findIndex((end) => end <= item.start);
    if (lane < 0) lane = lanes.push(item.end) - 1;
    else lanes[lane] = item.end;
    return { ...item, lane };
  });
}

/**
 * Tasks in each state over time, sampled at `points` times between the first and last change.
 *
 * @example
 * ```ts
 * const db = MonitoringDatabase.open('runinfo/monitoring.db');
 * const runId = db.workflows()[0]!.runId;
 * const value: StatesOverTime | undefined = db.statesOverTime(runId);
 * ```
 */
export interface StatesOverTime {
  /** The sample times, ms since the epoch. */
  times: number[];
  /** The task states, in display order. */
  states: string[];
  /** counts[i][j]: tasks in states[i] at times[j]. */
  counts: number[][];
}

/** The display order of Parsl's states. */
export const STATE_ORDER = [
  'pending', 'launched', 'running', 'joining', 'fail_retryable', 'exec_done', 'memo_done', 'failed', 'dep_fail',
];

/**
 * Turns per-bucket changes (`[state, bucket, +entered or -left]`) into the number of tasks
 * in each state at the end of each bucket.
 */
export function accumulateStates(deltas: readonly [string, number, number][], buckets: number, timeOf: (bucket: number) => number): StatesOverTime {
  const names = [...new Set([...STATE_ORDER, ...deltas.map((d) => d[0])])];
  const change = names.map(() => new Array<number>(buckets).fill(0));
  for (const [state, bucket, delta] of deltas) change[names.indexOf(state)]![Math.min(Math.max(bucket, 0), buckets - 1)]! += delta;
  const counts = change.map((row) => {
    let total = 0;
    return row.map((d) => (total += d));
  });
  const used = counts.map((row) => row.some((c) => c !== 0));
  return {
    times: Array.from({ length: buckets }, (_, i) => timeOf(i)),
    states: names.filter((_, i) => used[i]),
    counts: counts.filter((_, i) => used[i]),
  };
}

/** A comma-separated id list (Parsl's `task_depends`, `task_joins`) as numbers. */
export function idList(text: string | null): number[] {
  if (!text) return [];
  return text.split(',').filter((s) => s.trim() !== '').map(Number).filter(Number.isFinite);
}

import { METRICS, type MetricId } from './subject.ts';

/** Samples of every measurement, by metric, then by subject label, in run order. */
export type Samples = Map<MetricId, Map<string, number[]>>;

export interface Summary {
  median: number;
  /** Highest throughput or lowest latency/memory of the runs. */
  best: number;
  min: number;
  max: number;
  runs: number;
}

export function summarize(metric: MetricId, values: number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  return { median, best: METRICS[metric].higherIsBetter ? max : min, min, max, runs: values.length };
}

export function sampleOf(samples: Samples, metric: MetricId, subject: string): Summary | undefined {
  return summarize(metric, samples.get(metric)?.get(subject) ?? []);
}

/** A number in a metric's unit, as the table shows it. */
export function formatValue(metric: MetricId, value: number): string {
  switch (METRICS[metric].unit) {
    case 'apps/s':
      return Math.round(value).toLocaleString('en-US');
    case 'ms/link':
    case 'ms':
      return value.toFixed(3);
    case 'µs/task':
      return value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
    case 'B/task': {
      // Near zero (the leak check), a decimal tells noise from a real byte or two.
      const text = Math.abs(value) < 10 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
      return text === '-0.0' ? '0.0' : text;
    }
  }
}

/** "median (best x)" for rates and latencies; "median (min…max)" for memory. */
export function formatCell(metric: MetricId, s: Summary | undefined): string {
  if (!s) return '—';
  const median = formatValue(metric, s.median);
  if (s.runs === 1) return median;
  if (METRICS[metric].unit === 'B/task') return `${median} (${formatValue(metric, s.min)}…${formatValue(metric, s.max)})`;
  return `${median} (best ${formatValue(metric, s.best)})`;
}

/**
 * How many times worse parsl-ts is than a baseline, from the medians: `>1` means slower (or
 * more memory). Throughput compares rates the other way round, so "3.0x slower" always
 * means the same thing.
 */
export function slowdown(metric: MetricId, parsl: number, baseline: number): number {
  return METRICS[metric].higherIsBetter ? baseline / parsl : parsl / baseline;
}

export function formatSlowdown(factor: number | undefined, memory = false): string {
  if (factor === undefined || !Number.isFinite(factor) || factor <= 0) return '—';
  const [worse, better] = memory ? ['more', 'less'] : ['slower', 'faster'];
  if (factor >= 1) return `${factor.toFixed(1)}x ${worse}`;
  return `${(1 / factor).toFixed(1)}x ${better}`;
}

/** A Markdown table with padded columns, readable in a terminal and pasteable into a README. */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

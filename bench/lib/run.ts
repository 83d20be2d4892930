/**
 * The run loop and the odds and ends every benchmark entry shares: machine info, progress
 * lines, the verdict against a target, and storing samples.
 */
import { arch, availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { formatValue, type Samples } from './report.ts';
import { METRICS, quiesce, type Measured, type MetricId, type Sizes, type Subject } from './subject.ts';

/** A progress line on stderr, so that stdout keeps only the report. */
export function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

/** The 1-, 5- and 15-minute load averages, as printed. */
export function formatLoad(load: number[] = loadavg()): string {
  return load.map((l) => l.toFixed(2)).join(' ');
}

/**
 * What the machine is: CPU, memory, node and V8, and the versions in `extra` (a benchmark's
 * own dependencies: piscina, nats-server…), as printed lines and as data for `--json`.
 */
export function machineInfo(extra: Record<string, string> = {}): { lines: string[]; data: Record<string, unknown> } {
  const list = cpus();
  const model = list[0]?.model.trim() ?? 'unknown';
  const data = {
    cpuModel: model,
    cpus: list.length,
    availableParallelism: availableParallelism(),
    totalMemGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${release()} ${arch()}`,
    ...extra,
  };
  const versions = Object.entries(extra).map(([name, version]) => `${name} ${version}`);
  const lines = [
    `machine: ${data.cpus} × ${model} (availableParallelism ${data.availableParallelism}), ${data.totalMemGiB} GiB`,
    `node ${data.node} (V8 ${data.v8}) on ${data.platform}${versions.length > 0 ? ` · ${versions.join(' · ')}` : ''}`,
  ];
  return { lines, data };
}

/** "met" when the median meets the target, "best only" when only the best run does. */
export function verdict(median: number | undefined, best: number | undefined, ok: (v: number) => boolean): string {
  if (median === undefined || best === undefined) return '—';
  if (ok(median)) return 'met';
  if (ok(best)) return 'best only';
  return 'NOT met';
}

/** Stores a measurement (and the metrics it also yielded); returns them, its own first. */
export function record(samples: Samples, subject: string, metric: MetricId, measured: Measured): [MetricId, number][] {
  const results: [MetricId, number][] =
    typeof measured === 'number' ? [[metric, measured]] : [[metric, measured.value], ...(Object.entries(measured.also) as [MetricId, number][])];
  for (const [m, value] of results) {
    let bySubject = samples.get(m);
    if (!bySubject) samples.set(m, (bySubject = new Map()));
    let list = bySubject.get(subject);
    if (!list) bySubject.set(subject, (list = []));
    list.push(value);
  }
  return results;
}

export interface InterleavedRun {
  subjects: Subject[];
  /** Measured in this order; a subject without a measurement of a metric is skipped. */
  metrics: MetricId[];
  repeat: number;
  sizes: Sizes;
  samples: Samples;
  /** Force a full GC before each timed run (never before heap runs, which collect on their own). */
  gcBetween?: boolean;
  /** Told after each sample, e.g. to keep the load average it was taken under. */
  onSample?: (subject: Subject, metric: MetricId, results: [MetricId, number][]) => void;
}

/**
 * Runs every measurement `repeat` times, interleaved across subjects, and the subject that
 * goes first rotates from run to run, so that a noisy second on this shared machine does not
 * always land on the same subject. The subjects must be started and warmed up.
 */
export async function runInterleaved(run: InterleavedRun): Promise<void> {
  const { subjects, samples } = run;
  for (const metric of run.metrics) {
    for (let r = 0; r < run.repeat; r++) {
      for (let k = 0; k < subjects.length; k++) {
        const subject = subjects[(k + r) % subjects.length]!;
        const measure = subject.measure[metric];
        if (!measure) continue;
        // Off by default: a forced full GC made the parsl-ts chain that followed it up to
        // 2x slower here (and programs do not force GCs). The heap runs collect on their own.
        if (run.gcBetween && !metric.startsWith('heap')) await quiesce();
        const results = record(samples, subject.label, metric, await measure(run.sizes));
        run.onSample?.(subject, metric, results);
        const extra = results
          .slice(1)
          .map(([m, v]) => `${m} ${formatValue(m, v)} ${METRICS[m].unit}`)
          .join(', ');
        progress(
          `${metric.padEnd(17)} #${r + 1}  ${subject.label.padEnd(22)} ${formatValue(metric, results[0]![1]).padStart(10)} ${METRICS[metric].unit}` +
            (extra ? `  (${extra})` : ''),
        );
      }
    }
  }
}

/**
 * Benchmark of the HighThroughputExecutor against raw NATS baselines, side by side in one run,
 * all through one nats-server started here:
 *
 *   htex B×W             apps through the DFK, over JetStream, to B block-manager processes
 *                        (LocalProvider) with W worker threads each; one DFK start per W
 *   raw NATS req/reply   this process asks, a responder process (workers/nats-responder.mjs)
 *                        answers: core NATS request/reply, one message per task
 *   raw JetStream        the same over two work-queue streams (publish, consume, publish the
 *                        answer, consume it), as the HTEX's streams are set up
 *
 * See bench/README.md for the options and how to read the figures. Figures, not a test:
 * this prints, it does not assert (beyond checking that every subject computed the right
 * results).
 *
 *   npm run bench:htex -- --workers 1 --repeat 5
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { findNatsServer, NatsServer } from '../src/internal.ts';
import { HtexSubject } from './lib/htex.ts';
import { NatsBaselines, type NatsEndpoint } from './lib/nats.ts';
import { BenchOptionError, HTEX_USAGE, parseHtexBenchOptions, type HtexBenchOptions } from './lib/options.ts';
import { formatCell, formatValue, markdownTable, sampleOf, type Samples, type Summary } from './lib/report.ts';
import { formatLoad, machineInfo, progress, runInterleaved, verdict } from './lib/run.ts';
import { METRICS, type MetricId, type Sizes, type Subject } from './lib/subject.ts';

const TARGET_RATE = 15_000;
const TARGET_LINK_MS = 1;
const TARGET_RAW_FACTOR = 3;
const RAW_NATS = 'raw NATS req/reply';
const RAW_JS = 'raw JetStream';

/** 1-minute load average at each sample, by "metric|subject", in run order. */
type Loads = Map<string, number[]>;

async function main(): Promise<void> {
  let options: HtexBenchOptions;
  try {
    options = parseHtexBenchOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof BenchOptionError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`bench:htex: ${(error as Error).message}\n\n${HTEX_USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  if (options.help) {
    console.log(HTEX_USAGE);
    return;
  }

  const startedAt = performance.now();
  const loadBefore = loadavg();
  const machine = machineInfo({ 'nats-server': natsServerVersion(), 'nats.js': natsJsVersion() });
  console.log(`# parsl-ts HighThroughputExecutor benchmark\n`);
  console.log(machine.lines.join('\n'));
  console.log(
    `blocks: ${options.blocks} · workers per block: ${options.workers.join(', ')} (judged: ${options.workers[0]})` +
      ` · tasks: ${options.tasks.toLocaleString('en-US')} · chain: ${options.chain.toLocaleString('en-US')} · repeat: ${options.repeat}` +
      ` · warm-up: ${options.warmup.toLocaleString('en-US')} · raw: ${options.rawTasks.toLocaleString('en-US')} requests, ${options.window} in flight\n`,
  );

  const user = 'bench';
  const password = randomBytes(18).toString('base64url');
  const server = await NatsServer.start({ auth: { user, password } });
  const endpoint: NatsEndpoint = { url: server.url, user, password, pid: server.pid };
  const sizes: Sizes = { tasks: options.tasks, chain: options.chain, memTasks: 0, warmup: options.warmup };
  const metrics: MetricId[] = ['throughput', 'chain', ...(options.awaited ? (['chainAwaited'] as const) : [])];
  const samples: Samples = new Map();
  const loads: Loads = new Map();
  const registered: string[] = [];
  const onSample = (subject: Subject, metric: MetricId): void => {
    const key = `${metric}|${subject.label}`;
    loads.set(key, [...(loads.get(key) ?? []), loadavg()[0]!]);
  };
  const htexLabels: string[] = [];
  let baselines: NatsBaselines | undefined;
  try {
    const baselineSubjects: Subject[] = [];
    if (options.only.includes('nats') || options.only.includes('jetstream')) {
      const t = performance.now();
      baselines = new NatsBaselines(endpoint, options.window, options.rawTasks);
      await baselines.start();
      for (const subject of baselines.subjects()) {
        if ((subject.label === RAW_NATS && options.only.includes('nats')) || (subject.label === RAW_JS && options.only.includes('jetstream'))) {
          await subject.warmUp(sizes);
          baselineSubjects.push(subject);
        }
      }
      progress(`warm-up   raw baselines          ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    if (options.only.includes('htex')) {
      // One DFK start per workers-per-block setting; the baselines run interleaved with each.
      for (const workers of options.workers) {
        const htex = new HtexSubject(workers, options.blocks, endpoint, options.awaited);
        htexLabels.push(htex.label);
        try {
          const t = performance.now();
          await htex.start();
          registered.push(`${htex.label}: blocks registered ${(htex.registeredAfterMs / 1000).toFixed(1)} s after load()`);
          await htex.warmUp(sizes);
          progress(`warm-up   ${htex.label.padEnd(22)} ${((performance.now() - t) / 1000).toFixed(1)} s (blocks registered after ${(htex.registeredAfterMs / 1000).toFixed(1)} s)`);
          await runInterleaved({ subjects: [htex, ...baselineSubjects], metrics, repeat: options.repeat, sizes, samples, onSample });
        } finally {
          await htex.stop();
        }
      }
    } else {
      await runInterleaved({ subjects: baselineSubjects, metrics, repeat: options.repeat, sizes, samples, onSample });
    }
  } finally {
    await baselines?.stop();
    await server.stop();
  }

  const elapsedS = (performance.now() - startedAt) / 1000;
  const loadAfter = loadavg();
  const columns = [...htexLabels, ...(options.only.includes('nats') ? [RAW_NATS] : []), ...(options.only.includes('jetstream') ? [RAW_JS] : [])];
  console.log(`\n## Results (median of the runs, best in parentheses)\n`);
  console.log(resultsTable(samples, loads, columns, htexLabels, options));
  console.log(`\n${LEGEND(options, htexLabels[0])}`);
  if (registered.length > 0) console.log(`\n${registered.join('\n')}`);
  console.log(`\n## Every run\n`);
  console.log(samplesTable(samples, loads));
  console.log(`\nload average before ${formatLoad(loadBefore)}, after ${formatLoad(loadAfter)} · whole run ${elapsedS.toFixed(1)} s`);
  if (options.json) {
    const json = {
      date: new Date().toISOString(),
      machine: machine.data,
      options,
      loadavg: { before: loadBefore, after: loadAfter, bySample: Object.fromEntries(loads) },
      elapsedS,
      samples: Object.fromEntries([...samples].map(([m, by]) => [m, Object.fromEntries(by)])),
    };
    writeFileSync(options.json, JSON.stringify(json, null, 2));
    console.log(`samples written to ${options.json}`);
  }
}

function natsServerVersion(): string {
  try {
    return /v?(\d+\.\d+\.\d+)/.exec(execFileSync(findNatsServer(), ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'not found';
  }
}

function natsJsVersion(): string {
  try {
    const pkg = fileURLToPath(new URL('../node_modules/@nats-io/transport-node/package.json', import.meta.url));
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

// ---- the tables -------------------------------------------------------------------------

function resultsTable(samples: Samples, loads: Loads, columns: string[], htex: string[], options: HtexBenchOptions): string {
  const judged = htex[0];
  const rows: string[][] = [];
  const cells = (metric: MetricId, baselineMetric: MetricId = metric): string[] =>
    columns.map((c) => formatCell(htex.includes(c) ? metric : baselineMetric, sampleOf(samples, htex.includes(c) ? metric : baselineMetric, c)));
  const judge = (s: Summary | undefined, ok: (v: number) => boolean): string => (judged ? verdict(s?.median, s?.best, ok) : '—');
  /**
   * HTEX against raw NATS, run by run: each HTEX run is paired with the raw NATS run of the same
   * round (measured next to it, under the same load), then the median and best of the ratios.
   */
  const ratioRow = (label: string, metric: MetricId, baselineMetric: MetricId, higherIsBetter: boolean, target: string): string[] => {
    const raw = samples.get(baselineMetric)?.get(RAW_NATS) ?? [];
    const factor = (c: string): Summary | undefined => {
      const own = samples.get(metric)?.get(c) ?? [];
      const phase = htex.indexOf(c);
      const ratios: number[] = [];
      own.forEach((v, k) => {
        const r = raw[phase * options.repeat + k];
        if (r !== undefined) ratios.push(higherIsBetter ? r / v : v / r);
      });
      if (ratios.length === 0) return undefined;
      const sorted = [...ratios].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
      return { median, best: sorted[0]!, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
    };
    const text = (f: Summary | undefined): string => (f ? `${f.median.toFixed(1)}x (best ${f.best.toFixed(1)}x)` : '—');
    const own = (c: string): string => (htex.includes(c) ? text(factor(c)) : c === RAW_NATS ? '1x' : '');
    const f = judged ? factor(judged) : undefined;
    return [label, ...columns.map(own), target, judged ? verdict(f?.median, f?.best, (v) => v <= TARGET_RAW_FACTOR) : '—'];
  };
  const fmtTasks = options.tasks.toLocaleString('en-US');
  const fmtChain = options.chain.toLocaleString('en-US');

  rows.push([
    `throughput, ${fmtTasks} no-op tasks (tasks/s)¹`,
    ...cells('throughput'),
    `≥ ${TARGET_RATE.toLocaleString('en-US')} tasks/s`,
    judge(judged ? sampleOf(samples, 'throughput', judged) : undefined, (v) => v >= TARGET_RATE),
  ]);
  rows.push(ratioRow('  raw NATS rate ÷ HTEX rate', 'throughput', 'throughput', true, `≤ ${TARGET_RAW_FACTOR}x`));
  rows.push([
    `chain of ${fmtChain} dependent tasks (ms/link)²`,
    ...cells('chain'),
    `≤ ${TARGET_LINK_MS} ms/link`,
    judge(judged ? sampleOf(samples, 'chain', judged) : undefined, (v) => v <= TARGET_LINK_MS),
  ]);
  rows.push(ratioRow('  HTEX ms/link ÷ raw NATS ms/link', 'chain', 'chain', false, `≤ ${TARGET_RAW_FACTOR}x`));
  if (options.awaited) {
    rows.push([`  same, each link awaited (ms/link)`, ...cells('chainAwaited', 'chain'), '', '']);
    rows.push([`  awaited link, median (ms)`, ...cells('linkP50'), '', '']);
    rows.push([`  awaited link, 99th percentile (ms)`, ...cells('linkP99'), '', '']);
  }
  rows.push([`CPU per task, throughput³: DFK / requester (µs)`, ...cells('cpuDriver'), '', '']);
  rows.push([`  nats-server (µs)`, ...cells('cpuNats'), '', '']);
  rows.push([`  blocks / responder (µs)`, ...cells('cpuRunners'), '', '']);
  rows.push([`CPU per link, chain: DFK / requester (µs)`, ...cells('chainCpuDriver'), '', '']);
  rows.push([`  nats-server (µs)`, ...cells('chainCpuNats'), '', '']);
  rows.push([`  blocks / responder (µs)`, ...cells('chainCpuRunners'), '', '']);
  rows.push([
    `load average (1 min) during the runs`,
    ...columns.map((c) => {
      const all = [...loads].filter(([k]) => k.endsWith(`|${c}`)).flatMap(([, v]) => v);
      return all.length === 0 ? '—' : `${Math.min(...all).toFixed(2)}–${Math.max(...all).toFixed(2)}`;
    }),
    '',
    '',
  ]);
  return markdownTable(['metric', ...columns, 'target', judged ? `met (${judged})` : 'met'], rows);
}

const LEGEND = (o: HtexBenchOptions, judged: string | undefined): string =>
  [
    `Cells: median of the runs (best run in parentheses); "met" judges ${judged ?? 'the first HTEX configuration'} (the first of --workers): "best only" means only the best run meets the target.`,
    `¹ HTEX: ${o.tasks.toLocaleString('en-US')} calls of a no-op app, then Promise.all on the futures. Raw baselines: ${o.rawTasks.toLocaleString('en-US')} requests, one task per message, ${o.window} in flight (a new one goes out as each answer comes back).`,
    `² HTEX: every link called at once, each given the future of the one before; the DFK releases each link as its dependency ends. Raw baselines: sequential round trips (send, await the answer, send the next), on every chain row.`,
    `³ CPU time (user + system, from /proc, 10 ms ticks) each process used during the run, divided by the tasks (or links). "DFK / requester" is this process; "blocks / responder" sums the block managers (with their worker threads), or the responder.`,
    `Ratios: raw NATS rate ÷ HTEX rate, and HTEX ms/link ÷ raw NATS ms/link, taken run by run (each HTEX run against the raw NATS run of the same round, next to it in time), then the median and the best of them: 3x means HTEX is three times worse.`,
  ].join('\n');

function samplesTable(samples: Samples, loads: Loads): string {
  const rows: string[][] = [];
  for (const metric of Object.keys(METRICS) as MetricId[]) {
    for (const [subject, values] of samples.get(metric) ?? []) {
      // Figures that came with another (percentiles, CPU) share the load of that run.
      const source = metric.startsWith('link') ? (loads.has(`chainAwaited|${subject}`) ? 'chainAwaited' : 'chain') : metric.startsWith('chainCpu') ? 'chain' : metric.startsWith('cpu') ? 'throughput' : metric;
      const load = loads.get(`${source}|${subject}`) ?? [];
      rows.push([metric, subject, values.map((v) => formatValue(metric, v)).join(', '), METRICS[metric].unit, load.map((l) => l.toFixed(2)).join(', ')]);
    }
  }
  return markdownTable(['metric', 'subject', 'runs, in order', 'unit', 'load (1 min) at each run'], rows);
}

await main();

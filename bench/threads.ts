/**
 * Benchmark of the thread executor against two baselines, side by side in one run:
 *
 *   parsl-ts          apps on a ThreadPoolExecutor (src/), through the DFK and its actors
 *   raw postMessage   plain worker threads answering messages (bench/workers/raw-worker.mjs)
 *   piscina           a piscina pool running the same functions (bench/workers/piscina-worker.mjs)
 *
 * with the same number of threads. See bench/README.md for the options and how to read the
 * figures. Figures are never a timed test: this prints, it does not assert (beyond checking
 * that every subject computed the right results).
 *
 *   npm run bench -- --threads 2 --repeat 5
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BenchOptionError, parseBenchOptions, USAGE, type BenchOptions, type SubjectId } from './lib/options.ts';
import {
  formatCell,
  formatSlowdown,
  formatValue,
  markdownTable,
  sampleOf,
  slowdown,
  type Samples,
  type Summary,
} from './lib/report.ts';
import { machineInfo, progress, runInterleaved, verdict } from './lib/run.ts';
import { METRICS, type MetricId, type Sizes, type Subject } from './lib/subject.ts';

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof BenchOptionError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }

  const startedAt = performance.now();
  const loadBefore = loadavg();
  const machine = machineInfo({ piscina: piscinaVersion() });
  console.log(`# parsl-ts thread executor benchmark\n`);
  console.log(machine.lines.join('\n'));
  console.log(
    `threads per subject: ${options.threads} · tasks: ${options.tasks.toLocaleString('en-US')} · chain: ${options.chain.toLocaleString('en-US')}` +
      ` · repeat: ${options.repeat} · warm-up: ${options.warmup.toLocaleString('en-US')} · heap tasks: ${options.memTasks.toLocaleString('en-US')}` +
      ` · raw window: ${options.window}/worker · raw batch: ${options.batch}${options.gcBetween ? ' · GC before each run' : ''}\n`,
  );

  const subjects = await makeSubjects(options);
  const sizes: Sizes = { tasks: options.tasks, chain: options.chain, memTasks: options.memTasks, warmup: options.warmup };
  const samples: Samples = new Map();
  try {
    for (const subject of subjects) {
      const t = performance.now();
      await subject.start();
      await subject.warmUp(sizes);
      progress(`warm-up   ${subject.label.padEnd(16)} ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    const metrics = (Object.keys(METRICS) as MetricId[]).filter((m) => options.memTasks > 0 || !m.startsWith('heap'));
    await runInterleaved({ subjects, metrics, repeat: options.repeat, sizes, samples, gcBetween: options.gcBetween });
  } finally {
    for (const subject of subjects) await subject.stop();
  }

  const elapsedS = (performance.now() - startedAt) / 1000;
  const loadAfter = loadavg();
  console.log(`\n## Results (median of ${options.repeat}, best in parentheses)\n`);
  console.log(resultsTable(samples, options));
  console.log(`\n${LEGEND(options)}`);
  console.log(`\n## Every run\n`);
  console.log(samplesTable(samples));
  console.log(
    `\nload average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}` +
      ` · whole run ${elapsedS.toFixed(1)} s`,
  );
  if (options.json) {
    const json = {
      date: new Date().toISOString(),
      machine: machine.data,
      options,
      loadavg: { before: loadBefore, after: loadAfter },
      elapsedS,
      samples: Object.fromEntries([...samples].map(([m, by]) => [m, Object.fromEntries(by)])),
    };
    writeFileSync(options.json, JSON.stringify(json, null, 2));
    console.log(`samples written to ${options.json}`);
  }
}

async function makeSubjects(options: BenchOptions): Promise<Subject[]> {
  // Imported on demand, so that --only raw never loads parsl-ts or piscina.
  const make: Record<SubjectId, () => Promise<Subject>> = {
    parsl: async () => new (await import('./lib/parsl.ts')).ParslSubject(options.threads),
    raw: async () => new (await import('./lib/raw.ts')).RawSubject(options.threads, options.window, options.batch),
    piscina: async () => new (await import('./lib/piscina.ts')).PiscinaSubject(options.threads),
  };
  const subjects: Subject[] = [];
  for (const id of options.only) subjects.push(await make[id]());
  return subjects;
}

/** The installed piscina's version, or 'unknown' (the piscina subject says why when it loads). */
function piscinaVersion(): string {
  try {
    const pkg = fileURLToPath(new URL('../node_modules/piscina/package.json', import.meta.url));
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

// ---- the tables -------------------------------------------------------------------------

const TARGET_RATE = 30_000;
const TARGET_LINK_MS = 0.1;
const TARGET_RAW_FACTOR = 3;

function resultsTable(samples: Samples, options: BenchOptions): string {
  const P = 'parsl-ts';
  const R = 'raw postMessage';
  const S = 'piscina';
  const rows: string[][] = [];
  const fmtTasks = options.tasks.toLocaleString('en-US');
  const fmtChain = options.chain.toLocaleString('en-US');
  const ratio = (metric: MetricId, baseMetric: MetricId, base: string, memory = false): string => {
    const p = sampleOf(samples, metric, P);
    const b = sampleOf(samples, baseMetric, base);
    return p && b ? formatSlowdown(slowdown(metric, p.median, b.median), memory) : '—';
  };

  const tp = sampleOf(samples, 'throughput', P);
  const rawTp = sampleOf(samples, 'throughput', R);
  rows.push([
    `throughput, ${fmtTasks} no-op apps (apps/s)`,
    formatCell('throughput', tp),
    formatCell('throughput', rawTp),
    formatCell('throughput', sampleOf(samples, 'throughput', S)),
    ratio('throughput', 'throughput', R),
    ratio('throughput', 'throughput', S),
    `≥ ${TARGET_RATE.toLocaleString('en-US')} apps/s`,
    verdict(tp?.median, tp?.best, (v) => v >= TARGET_RATE),
  ]);
  const factor = (s: Summary | undefined, r: Summary | undefined, pick: 'median' | 'best'): number | undefined =>
    s && r ? r[pick] / s[pick] : undefined;
  const fMed = factor(tp, rawTp, 'median');
  const fBest = factor(tp, rawTp, 'best');
  rows.push([
    `  same, raw rate ÷ parsl-ts rate`,
    fMed === undefined ? '—' : `${fMed.toFixed(2)}x (best ${fBest!.toFixed(2)}x)`,
    '1x',
    '',
    '',
    '',
    `≤ ${TARGET_RAW_FACTOR}x`,
    verdict(fMed, fBest, (v) => v <= TARGET_RAW_FACTOR),
  ]);
  rows.push([
    `  raw, ${options.batch} tasks per message (apps/s)`,
    '—',
    formatCell('throughputBatched', sampleOf(samples, 'throughputBatched', R)),
    '—',
    '',
    '',
    '',
    '',
  ]);
  const chain = sampleOf(samples, 'chain', P);
  rows.push([
    `chain of ${fmtChain} dependent apps (ms/link)`,
    formatCell('chain', chain),
    formatCell('chain', sampleOf(samples, 'chain', R)),
    formatCell('chain', sampleOf(samples, 'chain', S)),
    ratio('chain', 'chain', R),
    ratio('chain', 'chain', S),
    `≤ ${TARGET_LINK_MS} ms/link`,
    verdict(chain?.median, chain?.best, (v) => v <= TARGET_LINK_MS),
  ]);
  rows.push([
    `  same, each link awaited (ms/link)`,
    formatCell('chainAwaited', sampleOf(samples, 'chainAwaited', P)),
    formatCell('chain', sampleOf(samples, 'chain', R)),
    formatCell('chain', sampleOf(samples, 'chain', S)),
    ratio('chainAwaited', 'chain', R),
    ratio('chainAwaited', 'chain', S),
    '',
    '',
  ]);
  rows.push([
    `  awaited link, median (ms)`,
    formatCell('linkP50', sampleOf(samples, 'linkP50', P)),
    formatCell('linkP50', sampleOf(samples, 'linkP50', R)),
    formatCell('linkP50', sampleOf(samples, 'linkP50', S)),
    ratio('linkP50', 'linkP50', R),
    ratio('linkP50', 'linkP50', S),
    '',
    '',
  ]);
  rows.push([
    `  awaited link, 99th percentile (ms)`,
    formatCell('linkP99', sampleOf(samples, 'linkP99', P)),
    formatCell('linkP99', sampleOf(samples, 'linkP99', R)),
    formatCell('linkP99', sampleOf(samples, 'linkP99', S)),
    ratio('linkP99', 'linkP99', R),
    ratio('linkP99', 'linkP99', S),
    '',
    '',
  ]);
  if (options.memTasks > 0) {
    rows.push([
      `heap per finished task, futures dropped (B)`,
      formatCell('heapDropped', sampleOf(samples, 'heapDropped', P)),
      '—',
      formatCell('heapDropped', sampleOf(samples, 'heapDropped', S)),
      '',
      '',
      '≈ 0 (no leak)',
      '',
    ]);
    rows.push([
      `heap per finished task, futures kept (B)`,
      formatCell('heapKept', sampleOf(samples, 'heapKept', P)),
      '—',
      formatCell('heapKept', sampleOf(samples, 'heapKept', S)),
      '',
      ratio('heapKept', 'heapKept', S, true),
      '',
      '',
    ]);
  }
  return markdownTable(['metric', P, R, S, 'vs raw', 'vs piscina', 'target', 'met'], rows);
}

const LEGEND = (o: BenchOptions): string =>
  [
    'Legend: "vs raw" / "vs piscina" compare medians; "2.0x slower" always means parsl-ts is worse by that factor (rates and latencies alike).',
    `Raw postMessage throughput keeps ${o.window} one-task messages in flight per worker; the batched row sends ${o.batch} tasks per message.`,
    'Baseline chains are sequential round trips (send, await the answer, send the next); they appear on both chain rows.',
    'Awaited link percentiles: each link of the awaited chains timed alone (parsl-ts: the "each link awaited" chain); the mean per link is higher than the median by the stalls in the tail.',
    'parsl-ts chain: every link called at once, each given the future of the one before; the DFK releases each link as its dependency ends.',
    `Heap: main-thread heapUsed after forced GCs, after ${o.memTasks.toLocaleString('en-US')} tasks minus before, per task; medians with (min…max); the array holding kept futures/promises is allocated before the baseline.`,
    '"best only": the median misses the target but the best run meets it (the machine is shared; see "Every run").',
  ].join('\n');

function samplesTable(samples: Samples): string {
  const rows: string[][] = [];
  for (const metric of Object.keys(METRICS) as MetricId[]) {
    for (const [subject, values] of samples.get(metric) ?? []) {
      rows.push([metric, subject, values.map((v) => formatValue(metric, v)).join(', '), METRICS[metric].unit]);
    }
  }
  return markdownTable(['metric', 'subject', 'runs, in order', 'unit'], rows);
}

// ---- entry -------------------------------------------------------------------------------
// Last in the file, so that every constant above is initialized before main() runs.

const CHILD_MARK = 'PARSL_TS_BENCH_CHILD';

// Heap figures need a forced GC. `npm run bench` starts node without --expose-gc, so the
// script starts itself again with it (and the same loader flags) and passes its exit on.
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  if (process.env[CHILD_MARK]) {
    console.error('bench: global.gc is still missing after re-spawning with --expose-gc');
    process.exit(1);
  }
  const child = spawn(
    process.execPath,
    [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, [CHILD_MARK]: '1' } },
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
} else {
  await main();
}

/**
 * Throughput and size of the checkpoint store (src/dataflow/checkpoint-store.ts):
 *
 *   node --expose-gc --import tsx bench/checkpoint-store.ts [--results 100000] [--repeat 3]
 *
 * - put + flush of N small results ({ i, square, tag }) at several batch sizes (rows/s),
 *   from the first put to the last commit, encoding included;
 * - one commit per result (the worst case of checkpointMode 'task_exit': one result per batch);
 * - lookups of random keys in the closed file (gets/s);
 * - the file size per result once closed (the WAL folded in).
 * Figures only; nothing is asserted. Each figure is the median of the repeats.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore } from '../src/dataflow/checkpoint-store.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const results = option('results', 100_000);
const repeat = option('repeat', 3);
const dir = mkdtempSync(join(tmpdir(), 'parsl-ts-bench-checkpoint-'));
const keys = Array.from({ length: results }, (_, i) => createHash('sha256').update(`r${i}`).digest('hex'));
const value = (i: number) => ({ i, square: i * i, tag: `r${i}` });

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function fileSize(path: string): number {
  return ['', '-wal'].reduce((sum, suffix) => sum + (existsSync(path + suffix) ? statSync(path + suffix).size : 0), 0);
}

let run = 0;
/** Results per second of wall time, and per second of this process's CPU time (less sensitive to a loaded machine). */
interface Rates {
  rate: number;
  cpuRate: number;
}

function timed(count: number, work: () => void): Rates {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { rate: count / seconds, cpuRate: count / ((used.user + used.system) / 1e6) };
}

const fmt = (runs: Rates[]) =>
  `${Math.round(median(runs.map((r) => r.rate))).toLocaleString('en')}/s wall, ${Math.round(median(runs.map((r) => r.cpuRate))).toLocaleString('en')}/s of CPU`;

function writeRun(count: number, batchSize: number, flushEach: boolean): Rates & { bytesPerResult: number; path: string } {
  const path = join(dir, `c${run++}.sqlite`);
  const store = CheckpointStore.open({ path, batchSize, flushIntervalMs: 60_000 });
  const rates = timed(count, () => {
    for (let i = 0; i < count; i++) {
      store.put(keys[i]!, value(i));
      if (flushEach) store.flush();
    }
    store.flush();
  });
  store.close();
  return { ...rates, bytesPerResult: fileSize(path) / count, path };
}

const lines: string[] = [];
const say = (line: string) => {
  lines.push(line);
  console.log(line);
};
say(`checkpoint store, ${results} results, median of ${repeat}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
let lastPath = '';
for (const batchSize of [100, 1000, 10_000]) {
  const runs = Array.from({ length: repeat }, () => writeRun(results, batchSize, false));
  lastPath = runs[0]!.path;
  say(`  put + flush, batch ${String(batchSize).padStart(5)}: ${fmt(runs)}, ${median(runs.map((r) => r.bytesPerResult)).toFixed(1)} bytes/result`);
}
const single = Math.min(results, 10_000);
const flushed = Array.from({ length: repeat }, () => writeRun(single, 1000, true));
say(`  one commit per result (${single}): ${fmt(flushed)}`);

/** JS heap and Buffers: what the driver holds (SQLite's own page cache is capped at 2 MiB per file by default). */
const held = () => {
  global.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const heldBefore = held();
const reader = CheckpointStore.open({ checkpointFiles: [lastPath] });
const gets: Rates[] = [];
for (let r = 0; r < repeat; r++) {
  let hits = 0;
  gets.push(timed(results, () => {
    for (let n = 0; n < results; n++) if (reader.get(keys[(n * 7919) % results]!)) hits++;
  }));
  if (hits !== results) throw new Error(`expected ${results} hits, got ${hits}`);
}
reader.close();
say(`  get (random keys, closed file): ${fmt(gets)}`);
say(`  memory held by the reader: ${((held() - heldBefore) / 2 ** 20).toFixed(1)} MiB (heap + buffers${global.gc ? '' : ', run with --expose-gc'}) after ${results * repeat} lookups in a file of ${results} results`);
rmSync(dir, { recursive: true, force: true });

/**
 * The cost of monitoring on the thread executor: the no-op task rate with `Config.monitoring`
 * off and on, alternated in one process (issue 9 asks that "on" stays above 85% of "off").
 * Each pair (off, then on) gives a ratio; the median ratio is the figure, so that the load other
 * processes put on the machine, which changes from second to second, weighs less. The CPU the
 * whole process used per task (DFK, workers, writer thread) is printed beside the rate.
 *
 * It measures the compiled package (dist/, as a user installs it: run `npm run build` first);
 * `--src` measures the sources through tsx instead, where the writer's thread compiles its
 * TypeScript as it starts (~0.2 s of CPU that a user never pays, charged to "on" alone).
 * `--spin-ms=X` makes each task spin X ms of CPU instead: tasks that keep both threads busy, where
 * the writer (at nice 19) gets only what they leave, and the rate until `clear()` shows how far
 * behind it ends.
 * Prints; asserts nothing. `node --import tsx bench/monitoring-cost.ts [tasks=50000] [repeat=5] [--src] [--spin-ms=X]`
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as ParslTs from '../src/index.ts';

const fromSources = process.argv.includes('--src');
const spinMs = Number(process.argv.find((a) => a.startsWith('--spin-ms='))?.slice('--spin-ms='.length) ?? 0);
const [tasksArg, repeatArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const tasks = Number(tasksArg ?? 50_000);
const repeat = Number(repeatArg ?? 5);
const dist = new URL('../dist/index.js', import.meta.url);
if (!fromSources && !existsSync(fileURLToPath(dist))) {
  console.error('bench/monitoring-cost.ts measures the compiled package: run `npm run build` first (or pass --src).');
  process.exit(2);
}
const { app, clear, Config, load, MonitoringHub, ThreadPoolExecutor } = (await import(
  fromSources ? '../src/index.ts' : dist.href
)) as typeof ParslTs;
console.log(`parsl-ts from ${fromSources ? 'src/ (tsx)' : 'dist/'}: ${tasks} ${spinMs > 0 ? `tasks spinning ${spinMs} ms` : 'no-op tasks'}, ${repeat} pairs`);
const work = mkdtempSync(join(tmpdir(), 'parsl-ts-bench-monitoring-'));
const noop =
  spinMs > 0
    ? app((ms: number) => {
        const end = performance.now() + ms;
        while (performance.now() < end);
        return ms;
      })
    : app((x: number) => x);

/**
 * CPU seconds of this process's main thread (the DFK's), from Linux's /proc (10 ms ticks):
 * unlike the rate, it hardly changes with the load other processes put on the machine.
 */
function mainThreadCpu(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
const dfkCpu: { on: number[]; off: number[] } = { on: [], off: [] };

/** One run's figures: tasks/s until the last result, and until `clear()` returned (every event committed). */
interface Rates {
  results: number;
  endToEnd: number;
}

async function once(monitoring: boolean, i: number): Promise<Rates> {
  const runDir = join(work, `${monitoring ? 'on' : 'off'}-${i}`);
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })], runDir, progress: false,
    ...(monitoring ? { monitoring: new MonitoringHub() } : {}) }));
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpu();
  const futures = new Array(tasks);
  for (let t = 0; t < tasks; t++) futures[t] = noop(spinMs > 0 ? spinMs : t);
  await Promise.all(futures);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const main = ((mainThreadCpu() - main0) * 1e6) / tasks;
  dfkCpu[monitoring ? 'on' : 'off'].push(main);
  // clear() returns once the writer has committed every event: the database then holds the run.
  await clear();
  const total = (performance.now() - start) / 1000;
  const rate = tasks / seconds;
  const size = monitoring ? ` db ${(statSync(join(runDir, 'monitoring.db')).size / tasks).toFixed(0)} B/task` : '';
  const cpuPerTask = ((cpu.user + cpu.system) / tasks).toFixed(1);
  console.log(
    `monitoring ${monitoring ? 'on ' : 'off'}: ${rate.toFixed(0)} tasks/s (${seconds.toFixed(2)} s; to clear() ${total.toFixed(2)} s) ` +
      `cpu ${cpuPerTask} µs/task (DFK thread ${main.toFixed(1)})${size} load ${loadavg()[0]!.toFixed(1)}`,
  );
  rmSync(runDir, { recursive: true, force: true });
  return { results: rate, endToEnd: tasks / total };
}

const off: Rates[] = [];
const on: Rates[] = [];
for (let i = 0; i < repeat; i++) {
  // Alternate which goes first, so that neither always meets a warmer (or busier) machine.
  if (i % 2 === 0) {
    off.push(await once(false, i));
    on.push(await once(true, i));
  } else {
    on.push(await once(true, i));
    off.push(await once(false, i));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percent = (a: number, b: number) => `${((100 * a) / b).toFixed(0)}%`;
for (const [what, key] of [['until the last result', 'results'], ['until clear() (the database complete)', 'endToEnd']] as const) {
  const offRate = median(off.map((r) => r[key]));
  const onRate = median(on.map((r) => r[key]));
  console.log(
    `${what}: off ${offRate.toFixed(0)}/s, on ${onRate.toFixed(0)}/s: on is ${percent(onRate, offRate)} of off; ` +
      `median of the pairs' ratios ${percent(median(on.map((r, i) => r[key] / off[i]![key])), 1)}`,
  );
}
console.log(
  `DFK thread CPU per task: off ${median(dfkCpu.off).toFixed(1)} µs, on ${median(dfkCpu.on).toFixed(1)} µs ` +
    `(a DFK-bound rate with monitoring on would be ${percent(median(dfkCpu.off), median(dfkCpu.on))} of off)`,
);
rmSync(work, { recursive: true, force: true });

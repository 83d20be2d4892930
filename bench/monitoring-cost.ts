/**
 * The cost of monitoring on the thread executor: the no-op task rate with `Config.monitoring`
 * off and on, alternated in one process (issue 9 asks that "on" stays above 85% of "off").
 * Prints; asserts nothing. `node --import tsx bench/monitoring-cost.ts [tasks=100000] [repeat=2]`
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { app, clear, Config, load, MonitoringHub, ThreadPoolExecutor } from '../src/index.ts';

const tasks = Number(process.argv[2] ?? 100_000);
const repeat = Number(process.argv[3] ?? 2);
const work = mkdtempSync(join(tmpdir(), 'parsl-ts-bench-monitoring-'));
const noop = app((x: number) => x);

async function once(monitoring: boolean, i: number): Promise<number> {
  const runDir = join(work, `${monitoring ? 'on' : 'off'}-${i}`);
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })], runDir, progress: false,
    ...(monitoring ? { monitoring: new MonitoringHub() } : {}) }));
  const start = performance.now();
  const futures = new Array(tasks);
  for (let t = 0; t < tasks; t++) futures[t] = noop(t);
  await Promise.all(futures);
  const seconds = (performance.now() - start) / 1000;
  await clear();
  const rate = tasks / seconds;
  const size = monitoring ? ` db ${(statSync(join(runDir, 'monitoring.db')).size / tasks).toFixed(0)} B/task` : '';
  console.log(`monitoring ${monitoring ? 'on ' : 'off'}: ${rate.toFixed(0)} tasks/s (${seconds.toFixed(1)} s)${size} load ${loadavg()[0]!.toFixed(1)}`);
  return rate;
}

const off: number[] = [];
const on: number[] = [];
for (let i = 0; i < repeat; i++) {
  off.push(await once(false, i));
  on.push(await once(true, i));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`median: off ${median(off).toFixed(0)}/s, on ${median(on).toFixed(0)}/s: on is ${((100 * median(on)) / median(off)).toFixed(0)}% of off`);
rmSync(work, { recursive: true, force: true });

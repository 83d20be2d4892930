/**
 * The scale table of issue 12: many tasks on threads, many workers on HTEX. Each row runs in a
 * fresh `node` process that imports the COMPILED package (dist/: run `npm run build` first)
 * and prints one JSON line; this process prints the table. Figures, never assertions.
 *
 *   npm run build && npm run bench:scale                    every row (minutes)
 *   npm run bench:scale -- --only tasks                     10k, 100k, 1M no-op apps on threads
 *   npm run bench:scale -- --only workers --workers 10,100  some HTEX rows
 *   npm run bench:scale -- --only workers --workers 10000x1000   10,000 workers as 10 blocks × 1,000
 *   npm run bench:scale -- --only windowed --windowed 10000000   mapWindowed over 10M calls
 *
 * Tasks rows: N no-op apps, futures kept, `await Promise.all(futures)`: wall time from the
 * first call to the last result, tasks/s, peak RSS of the process (warm-up call excluded).
 * Workers rows: W workers as LocalProvider blocks on this machine, each block one thread with
 * `tasksPerWorker` slots (100 blocks × 100 for 10,000), at the default heartbeat period: time
 * from `load()` until every block has registered, then the dispatch rate of a burst of async
 * no-op apps (`--burst`, default max(20,000, 2 × W)), and the driver's peak RSS (blocks are
 * processes of their own: their memory is not in it). CPU is the whole child's user+sys from
 * /usr/bin/time (children it waited for included; not the blocks, started in the background).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runTimedNode } from './lib/timed-node.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = pathToFileURL(join(root, 'dist/index.js')).href;
const distInternal = pathToFileURL(join(root, 'dist/internal.js')).href;

const peakRss = `const peakMiB = () => process.resourceUsage().maxRSS / 1024;`;

const TASKS = `import * as P from ${JSON.stringify(dist)};
${peakRss}
const n = Number(process.argv[2]);
P.load(new P.Config({ executors: [new P.ThreadPoolExecutor({ maxThreads: 2 })] }));
const noop = P.app(() => 0);
await noop();
const start = performance.now();
const futures = [];
for (let i = 0; i < n; i++) futures.push(noop());
await Promise.all(futures);
const ms = performance.now() - start;
console.log(JSON.stringify({ ms, rate: n / (ms / 1000), rssMiB: peakMiB() }));
await P.clear();`;

const WINDOWED = `import * as P from ${JSON.stringify(dist)};
${peakRss}
const n = Number(process.argv[2]);
P.load(new P.Config({ executors: [new P.ThreadPoolExecutor({ maxThreads: 2 })] }));
const noop = P.app((x) => x);
await noop(0);
function* range(n) { for (let i = 0; i < n; i++) yield i; }
const start = performance.now();
let count = 0;
for await (const _ of P.mapWindowed(noop, range(n), { window: 1000 })) count++;
if (count !== n) throw new Error('lost results');
const ms = performance.now() - start;
console.log(JSON.stringify({ ms, rate: n / (ms / 1000), rssMiB: peakMiB() }));
await P.clear();`;

const WORKERS = `import * as P from ${JSON.stringify(dist)};
import { htexManager } from ${JSON.stringify(distInternal)};
${peakRss}
const [blocks, slots, burst] = process.argv.slice(2).map(Number);
const workers = blocks * slots;
const start = performance.now();
P.load(new P.Config({ strategy: 'none', executors: [new P.HighThroughputExecutor({
  label: 'htex', maxWorkersPerNode: 1, tasksPerWorker: slots,
  provider: new P.LocalProvider({ initBlocks: blocks, minBlocks: blocks, maxBlocks: blocks }) })] }));
const manager = htexManager(P.dfk(), 'htex');
const registered = () => manager.blocks().reduce((n, b) => n + (b.phase === 'registered' ? b.workers : 0), 0);
await new Promise((resolve) => { const t = setInterval(() => { if (registered() >= workers) { clearInterval(t); resolve(); } }, 50); });
const connectMs = performance.now() - start;
const noop = P.app(async () => 0);
await Promise.all(Array.from({ length: Math.min(workers, 1000) }, () => noop()));
const t0 = performance.now();
const futures = [];
for (let i = 0; i < burst; i++) futures.push(noop());
await Promise.all(futures);
const ms = performance.now() - t0;
console.log(JSON.stringify({ connectMs, ms, rate: burst / (ms / 1000), rssMiB: peakMiB() }));
await P.clear();`;

interface Result {
  connectMs?: number;
  ms: number;
  rate: number;
  rssMiB: number;
  cpuMs: number | undefined;
}

async function run(file: string, args: number[]): Promise<Result> {
  const { out, cpuMs } = await runTimedNode([file, ...args.map(String)], root);
  const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no figures: ${out.slice(-200)}`);
  return { ...(JSON.parse(line) as Omit<Result, 'cpuMs'>), cpuMs };
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const list = (text: string): number[] => text.split(',').map((s) => Number(s.replace(/_/g, '')));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: 'tasks,workers' },
      tasks: { type: 'string', default: '10000,100000,1000000' },
      // W or WxS: W workers in blocks of S slots (default 100, or W when fewer).
      workers: { type: 'string', default: '10,100,1000,10000,10000x1000' },
      windowed: { type: 'string', default: '10000000' },
      burst: { type: 'string' },
    },
  });
  if (!existsSync(fileURLToPath(dist))) {
    console.error('bench:scale measures the compiled package: run `npm run build` first.');
    process.exit(2);
  }
  const only = values.only.split(',');
  const dir = mkdtempSync(join(tmpdir(), 'parsl-ts-scale-'));
  const files = { tasks: join(dir, 'tasks.mjs'), windowed: join(dir, 'windowed.mjs'), workers: join(dir, 'workers.mjs') };
  writeFileSync(files.tasks, TASKS);
  writeFileSync(files.windowed, WINDOWED);
  writeFileSync(files.workers, WORKERS);
  const rows: string[][] = [];
  const say = (row: string[]): void => {
    rows.push(row);
    process.stderr.write(`  ${row.join(' | ')}\n`);
  };
  const loadBefore = loadavg();
  try {
    const cells = (r: Result): string[] => [seconds(r.ms), int(r.rate), int(r.rssMiB), r.cpuMs === undefined ? '—' : seconds(r.cpuMs)];
    const attempt = async (name: string, go: () => Promise<string[]>): Promise<void> => {
      try {
        say([name, ...(await go())]);
      } catch (error) {
        say([name, `failed: ${(error as Error).message.slice(0, 100)}`, '', '', '', '']);
      }
    };
    if (only.includes('tasks')) {
      for (const n of list(values.tasks)) {
        await attempt(`${int(n)} no-op apps, threads, futures kept`, async () => ['—', ...cells(await run(files.tasks, [n]))]);
      }
    }
    if (only.includes('windowed')) {
      for (const n of list(values.windowed)) {
        await attempt(`${int(n)} apps through mapWindowed (window 1,000), threads`, async () => ['—', ...cells(await run(files.windowed, [n]))]);
      }
    }
    if (only.includes('workers')) {
      for (const spec of values.workers.split(',')) {
        const [w, perBlock] = list(spec.replace('x', ','));
        const slots = Math.min(w!, perBlock ?? 100);
        const blocks = Math.ceil(w! / slots);
        const burst = values.burst ? Number(values.burst) : Math.max(20_000, 2 * w!);
        await attempt(`${int(w!)} HTEX workers (${blocks} block${blocks > 1 ? 's' : ''} × ${slots}), ${int(burst)} async no-op apps`, async () => {
          const r = await run(files.workers, [blocks, slots, burst]);
          return [seconds(r.connectMs!), ...cells(r)];
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg();
  console.log(`\nload average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} at the start, ${loadAfter.map((l) => l.toFixed(1)).join(' ')} at the end\n`);
  console.log('| workload | connect (s) | time (s) | tasks/s | peak RSS (MiB) | CPU (s) |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

await main();

/**
 * The anchor workloads of issue 12, each in a fresh `node` process that imports the COMPILED
 * package (dist/, as a user installs it: run `npm run build` first), medians of 3, beside raw
 * baselines measured the same way. Prints one table. Never run by the tests.
 *
 *   npm run build && npm run bench:anchors            (-- --repeat 5, -- --only bash,import)
 *   npm run bench:anchors -- --only memory --repeat 1  (the 1M-task rows: minutes, so only on request)
 *
 * Each workload script is written to a temporary directory and prints one JSON line with its
 * figure; this process also times the whole child (wall) and, through /usr/bin/time when it
 * exists, its CPU (user+sys, children included). The machine's load average is printed at the
 * start and the end: on a loaded machine wall times move a lot, CPU times much less. The CPU
 * column counts the process and the children it waited for: not HTEX blocks (started in the
 * background by the provider), nor fully the commands the bash helper forked.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runTimedNode } from './lib/timed-node.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = pathToFileURL(join(root, 'dist/index.js')).href;
const distInternal = pathToFileURL(join(root, 'dist/internal.js')).href;
const distSpawner = pathToFileURL(join(root, 'dist/worker/bash-spawner.js')).href;
// Resolved here: the scripts live in a temporary directory, outside this package's node_modules.
const natsClient = import.meta.resolve('@nats-io/transport-node');

/** Shared head of every workload script: the package and a Config for threads or HTEX. */
const PRELUDE = `
import * as P from ${JSON.stringify(dist)};
const kind = process.argv[2] ?? 'threads';
const config = () => kind === 'htex'
  ? new P.Config({ strategy: 'none', executors: [new P.HighThroughputExecutor({ label: 'htex', maxWorkersPerNode: 2,
      provider: new P.LocalProvider({ initBlocks: 1, minBlocks: 1, maxBlocks: 1 }) })] })
  : new P.Config({ executors: [new P.ThreadPoolExecutor({ maxThreads: 2 })] });
const report = (value) => console.log(JSON.stringify({ value }));
`;

/** Workload scripts: each prints `{"value": …}`. The warm-up task keeps start-up out of rates. */
const SCRIPTS: Record<string, string> = {
  bash300: `${PRELUDE}
P.load(config());
const t = P.bashApp(() => 'true');
await t();
const start = performance.now();
await Promise.all(Array.from({ length: 300 }, () => t()));
report(300 / ((performance.now() - start) / 1000));
await P.clear();`,
  chain500: `${PRELUDE}
P.load(config());
const inc = P.app((x) => x + 1);
await inc(0);
const start = performance.now();
let f = inc(0);
for (let i = 1; i < 500; i++) f = inc(f);
if ((await f) !== 500) throw new Error('wrong chain result');
report((performance.now() - start) / 500);
await P.clear();`,
  first: `${PRELUDE}
const start = performance.now();
P.load(config());
await P.app(() => 1)();
report(performance.now() - start);
await P.clear();`,
  noop5000: `${PRELUDE}
P.load(config());
const noop = P.app(() => 0);
await noop();
const start = performance.now();
await Promise.all(Array.from({ length: 5000 }, () => noop()));
report(5000 / ((performance.now() - start) / 1000));
await P.clear();`,
  million: `${PRELUDE}
P.load(config());
const noop = P.app(() => 0);
await noop();
const futures = [];
for (let i = 0; i < 1_000_000; i++) futures.push(noop());
await Promise.all(futures);
report(process.resourceUsage().maxRSS / 1024);
await P.clear();`,
  windowed: `${PRELUDE}
P.load(config());
const noop = P.app((x) => x);
await noop(0);
function* range(n) { for (let i = 0; i < n; i++) yield i; }
let count = 0;
for await (const _ of P.mapWindowed(noop, range(1_000_000), { window: 1000 })) count++;
if (count !== 1_000_000) throw new Error('lost results');
report(process.resourceUsage().maxRSS / 1024);
await P.clear();`,
  import: `await import(${JSON.stringify(dist)});`,
  hello: `import { app, load, clear } from ${JSON.stringify(dist)};
load();
const hello = app(() => 'Hello World!');
console.log(await hello());
await clear();`,
  rawNodeSpawn: `const one = () => new Promise((resolve, reject) =>
  spawn('bash', ['-c', 'true'], { stdio: 'ignore', detached: true }).on('error', reject).on('close', resolve));
await one();
let left = 300;
const start = performance.now();
await Promise.all([0, 1].map(async () => { while (left-- > 0) await one(); }));
console.log(JSON.stringify({ value: 300 / ((performance.now() - start) / 1000) }));`,
  rawHelperSpawn: `import { spawnBash } from ${JSON.stringify(distSpawner)};
const one = () => spawnBash('true', process.cwd(), '/dev/null', '/dev/null', () => {});
await one();
let left = 300;
const start = performance.now();
await Promise.all([0, 1].map(async () => { while (left-- > 0) await one(); }));
console.log(JSON.stringify({ value: 300 / ((performance.now() - start) / 1000) }));`,
  rawPostMessage: `import { Worker } from 'node:worker_threads';
const w = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m))", { eval: true });
const trip = (i) => new Promise((resolve) => { w.once('message', resolve); w.postMessage(i); });
for (let i = 0; i < 1000; i++) await trip(i);
const start = performance.now();
for (let i = 0; i < 10000; i++) await trip(i);
console.log(JSON.stringify({ value: ((performance.now() - start) / 10000) * 1000 }));
await w.terminate();`,
  rawNats: `import { NatsServer } from ${JSON.stringify(distInternal)};
import { connect } from ${JSON.stringify(natsClient)};
const server = await NatsServer.start();
try {
  const responder = await connect({ servers: server.url });
  responder.subscribe('echo', { callback: (_e, m) => m.respond(m.data) });
  const nc = await connect({ servers: server.url });
  await responder.flush();
  const data = new Uint8Array(8);
  for (let i = 0; i < 500; i++) await nc.request('echo', data);
  const start = performance.now();
  for (let i = 0; i < 5000; i++) await nc.request('echo', data);
  console.log(JSON.stringify({ value: ((performance.now() - start) / 5000) * 1000 }));
  await nc.close(); await responder.close();
} finally { await server.stop(); }`,
};

interface Row {
  group: string;
  name: string;
  script: keyof typeof SCRIPTS;
  arg?: string;
  /** What the figure is: the child's own `value`, or the child's whole run. */
  figure: 'value' | 'wall';
  unit: string;
  /** Higher is better for rates. */
  higherIsBetter: boolean;
  target?: string;
  parsl?: string;
  /** Long rows run only when `--only` names their group. */
  optIn?: boolean;
}

const ROWS: Row[] = [
  { group: 'bash', name: '300 bash apps running `true`, threads', script: 'bash300', arg: 'threads', figure: 'value', unit: 'tasks/s', higherIsBetter: true, target: '≥ 1,000', parsl: '524' },
  { group: 'bash', name: '300 bash apps running `true`, HTEX', script: 'bash300', arg: 'htex', figure: 'value', unit: 'tasks/s', higherIsBetter: true, target: '≥ 600' },
  { group: 'chain', name: '500-link chain, threads', script: 'chain500', arg: 'threads', figure: 'value', unit: 'ms/link', higherIsBetter: false, target: '≤ 0.10', parsl: '0.18' },
  { group: 'chain', name: '500-link chain, HTEX', script: 'chain500', arg: 'htex', figure: 'value', unit: 'ms/link', higherIsBetter: false, target: '≤ 0.5' },
  { group: 'import', name: "`import 'parsl-ts'` (whole process)", script: 'import', figure: 'wall', unit: 'ms', higherIsBetter: false, target: '≤ 100', parsl: '600–640' },
  { group: 'hello', name: 'whole `node hello.mjs`', script: 'hello', figure: 'wall', unit: 'ms', higherIsBetter: false, target: '≤ 300', parsl: '610–990' },
  { group: 'first', name: 'load() to first result, threads', script: 'first', arg: 'threads', figure: 'value', unit: 'ms', higherIsBetter: false, target: '≤ 50', parsl: '40' },
  { group: 'first', name: 'load() to first result, HTEX', script: 'first', arg: 'htex', figure: 'value', unit: 'ms', higherIsBetter: false, target: '≤ 500', parsl: '770' },
  { group: 'noop', name: '5,000 no-op apps, threads', script: 'noop5000', arg: 'threads', figure: 'value', unit: 'tasks/s', higherIsBetter: true, target: 'keep the lead', parsl: '6,700' },
  { group: 'noop', name: '5,000 no-op apps, HTEX', script: 'noop5000', arg: 'htex', figure: 'value', unit: 'tasks/s', higherIsBetter: true, target: 'keep the lead' },
  { group: 'memory', name: '1,000,000 no-op apps, futures kept, threads: peak RSS', script: 'million', arg: 'threads', figure: 'value', unit: 'MiB', higherIsBetter: false, target: '≤ 1,024', optIn: true },
  { group: 'memory', name: '1,000,000 apps through mapWindowed (window 1,000), threads: peak RSS', script: 'windowed', arg: 'threads', figure: 'value', unit: 'MiB', higherIsBetter: false, target: '≤ 300 (for 10M)', optIn: true },
  { group: 'raw', name: 'raw: `bash -c true` spawned from Node, 2 in flight', script: 'rawNodeSpawn', figure: 'value', unit: '/s', higherIsBetter: true },
  { group: 'raw', name: 'raw: `true` from the bash helper, 2 in flight', script: 'rawHelperSpawn', figure: 'value', unit: '/s', higherIsBetter: true },
  { group: 'raw', name: 'raw: postMessage round trip', script: 'rawPostMessage', figure: 'value', unit: 'µs', higherIsBetter: false },
  { group: 'raw', name: 'raw: NATS request/reply', script: 'rawNats', figure: 'value', unit: 'µs', higherIsBetter: false },
];

interface Sample {
  value: number;
  wallMs: number;
  cpuMs: number | undefined;
}

/** Runs one script in a fresh node; its figure, the wall time of the whole child, and its CPU. */
async function runOnce(file: string, arg: string | undefined): Promise<Sample> {
  // cwd: the package root, so that the scripts resolve its dependencies (nats client).
  const { out, wallMs, cpuMs } = await runTimedNode([file, ...(arg ? [arg] : [])], root);
  const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{"value"'));
  return { value: line ? (JSON.parse(line) as { value: number }).value : wallMs, wallMs, cpuMs };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function format(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { repeat: { type: 'string', default: '3' }, only: { type: 'string' } },
  });
  const repeat = Math.max(1, Number(values.repeat));
  const only = values.only?.split(',');
  if (!existsSync(fileURLToPath(dist))) {
    console.error('bench:anchors measures the compiled package: run `npm run build` first.');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'parsl-ts-anchors-'));
  const loadBefore = loadavg();
  const lines: string[] = [];
  try {
    for (const [name, text] of Object.entries(SCRIPTS)) writeFileSync(join(dir, `${name}.mjs`), text);
    for (const row of ROWS) {
      if (only ? !only.includes(row.group) : row.optIn) continue;
      const samples: Sample[] = [];
      let failure: string | undefined;
      // Interleaving rows would be fairer under a changing load; runs of one row back to back
      // keep the page cache equally warm for each.
      for (let i = 0; i < repeat && failure === undefined; i++) {
        try {
          samples.push(await runOnce(join(dir, `${row.script}.mjs`), row.arg));
        } catch (error) {
          failure = (error as Error).message;
        }
      }
      const walls = row.figure === 'value' ? ` (whole process ${samples.map((s) => format(s.wallMs / 1000)).join(', ')} s)` : '';
      process.stderr.write(`  ${row.name}: ${failure ?? samples.map((s) => format(row.figure === 'wall' ? s.wallMs : s.value)).join(', ') + walls}\n`);
      const figures = samples.map((s) => (row.figure === 'wall' ? s.wallMs : s.value));
      const cpu = samples.flatMap((s) => (s.cpuMs === undefined ? [] : [s.cpuMs]));
      const cells = failure
        ? ['failed: ' + failure.slice(0, 80), '', '']
        : [
            `${format(median(figures))} ${row.unit}`,
            `${format(row.higherIsBetter ? Math.max(...figures) : Math.min(...figures))}`,
            cpu.length > 0 ? `${format(median(cpu))} ms` : '—',
          ];
      lines.push(`| ${row.name} | ${cells.join(' | ')} | ${row.target ?? ''} | ${row.parsl ?? ''} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  console.log(`parsl-ts ${version.version} (dist/), node ${process.version}, ${cpus().length} CPUs; medians of ${repeat} fresh processes`);
  console.log(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('');
  console.log('| workload | median | best | CPU of the process (user+sys, median) | target | Parsl here |');
  console.log('|---|---|---|---|---|---|');
  for (const line of lines) console.log(line);
}

await main();

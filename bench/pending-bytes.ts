/**
 * What one pending task costs on the heap: N no-op apps called (futures kept) on a
 * `ThreadPoolExecutor`, measured with `heapUsed` after a full GC, once the DFK has taken the
 * calls and once it has launched them to the pool (queued there, none run yet). Each build runs
 * in a fresh `node --expose-gc` on its COMPILED package (`npm run build` first); with
 * `--against DIR` another checkout's build runs interleaved with this one (A B A B …), so that
 * the two are compared at the same load. Figures, never assertions.
 *
 *   npm run build && node --import tsx bench/pending-bytes.ts
 *   node --import tsx bench/pending-bytes.ts --tasks 200000 --repeat 3 --against /path/to/other/checkout
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));

const PROBE = `const P = await import(process.argv[1]);
const n = Number(process.argv[2]);
P.load(new P.Config({ executors: [new P.ThreadPoolExecutor({ maxThreads: 2 })] }));
const noop = P.app(() => 0);
await noop();
const heap = () => { globalThis.gc(); return process.memoryUsage().heapUsed; };
const before = heap();
const futures = [];
for (let i = 0; i < n; i++) futures.push(noop());
const taken = heap();
await new Promise((r) => setImmediate(r));
await new Promise((r) => setImmediate(r));
const launched = heap();
const pending = futures.filter((f) => !f.done()).length;
console.log(JSON.stringify({ taken: (taken - before) / n, launched: (launched - before) / n, pending }));
await Promise.all(futures);
await P.clear();`;

function probe(checkout: string, tasks: number): { taken: number; launched: number; pending: number } {
  const dist = pathToFileURL(join(checkout, 'dist/index.js')).href;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', PROBE, dist, String(tasks)], { encoding: 'utf8' });
  const line = child.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (child.status !== 0 || !line) throw new Error(`probe of ${checkout} failed: ${child.stderr.slice(-400)}`);
  return JSON.parse(line) as { taken: number; launched: number; pending: number };
}

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '100000' },
    repeat: { type: 'string', default: '2' },
    against: { type: 'string' },
  },
});
const checkouts = [root, ...(values.against ? [values.against] : [])];
for (const checkout of checkouts) {
  if (!existsSync(join(checkout, 'dist/index.js'))) throw new Error(`${checkout}: no dist/index.js, run \`npm run build\` there first`);
}
console.log(`${values.tasks} pending no-op apps, bytes of heap a task; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('| build | taken by the DFK | launched, queued at the pool | still pending |');
console.log('|---|---|---|---|');
for (let r = 0; r < Number(values.repeat); r++) {
  for (const checkout of checkouts) {
    const { taken, launched, pending } = probe(checkout, Number(values.tasks));
    console.log(`| ${checkout === root ? 'this checkout' : checkout} | ${taken.toFixed(0)} | ${launched.toFixed(0)} | ${pending} |`);
  }
}

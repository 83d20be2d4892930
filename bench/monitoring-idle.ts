/**
 * What monitoring costs while a run is idle (issue 9: under 2% of a core; Parsl's burned two
 * cores, #1367). A run with a thread executor and an HTEX of one LocalProvider block does a
 * little work, then waits; over the wait, the CPU used by this process (the DFK, its monitoring
 * actor and writer thread, the embedded nats-server is a separate process and not counted)
 * and by the block manager's process is read, with monitoring off and on (resource samples
 * every second, so that the sampling shows), side by side.
 * Prints; asserts nothing. `node --import tsx bench/monitoring-idle.ts [idleSeconds=10]`
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { app, clear, Config, dfk, HighThroughputExecutor, load, LocalProvider, MonitoringHub, ThreadPoolExecutor } from '../src/index.ts';
import { htexManager } from '../src/internal.ts';

const idleSeconds = Number(process.argv[2] ?? 10);
const work = mkdtempSync(join(tmpdir(), 'parsl-ts-bench-idle-'));
const onThreads = app((x: number) => x + 1, { executors: ['threads'] });
const onBlock = app((x: number) => x * 2, { executors: ['htex'] });

/** CPU seconds of a process so far, from /proc (utime + stime, at 100 ticks a second). */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function once(monitoring: boolean, withBlock: boolean): Promise<void> {
  const threads = new ThreadPoolExecutor({ label: 'threads', maxThreads: 2 });
  const htex = new HighThroughputExecutor({ label: 'htex', provider: new LocalProvider({ initBlocks: 1, minBlocks: 1, maxBlocks: 1 }), maxWorkersPerNode: 2 });
  load(
    new Config({
      executors: withBlock ? [threads, htex] : [threads],
      runDir: join(work, `${monitoring ? 'on' : 'off'}-${withBlock ? 'htex' : 'threads'}`),
      progress: false,
      ...(monitoring ? { monitoring: new MonitoringHub({ resourceMonitoringInterval: 1_000 }) } : {}),
    }),
  );
  await Promise.all(Array.from({ length: 100 }, (_, i) => onThreads(i)));
  if (withBlock) await Promise.all(Array.from({ length: 100 }, (_, i) => onBlock(i)));
  const block = withBlock ? htexManager(dfk(), 'htex').blocks()[0] : undefined;
  const cpu0 = process.cpuUsage();
  const block0 = block ? cpuSecondsOf(block.pid!) : 0;
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const dfkPercent = (100 * (cpu.user + cpu.system)) / 1e6 / wall;
  const blockPart = block ? `, block manager ${((100 * (cpuSecondsOf(block.pid!) - block0)) / wall).toFixed(2)}% of a core` : '';
  console.log(
    `${withBlock ? 'threads + htex' : 'threads       '} monitoring ${monitoring ? 'on ' : 'off'}: idle ${wall.toFixed(1)} s: ` +
      `DFK process ${dfkPercent.toFixed(2)}% of a core${blockPart} (load ${loadavg()[0]!.toFixed(1)})`,
  );
  await clear();
}

for (const withBlock of [false, true]) {
  await once(false, withBlock);
  await once(true, withBlock);
}
rmSync(work, { recursive: true, force: true });

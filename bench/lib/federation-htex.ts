/**
 * HTEX figures for bench/federation.ts: no-op tasks through a HighThroughputExecutor whose
 * blocks are (a) local, on the embedded hub (the baseline), (b) at a site behind a firewall,
 * through its leaf node, (c) at an isolated site, through the leaf and an SSH reverse tunnel.
 * Throughput: `tasks` independent no-op tasks; chain: `links` dependent ones, ms per link.
 */
import { app, clear, Config, HighThroughputExecutor, load, LocalProvider } from '../../src/index.ts';
import type { SiteNetwork } from '../../test/support/netns.ts';
import { siteExecutor, startHtexSite, stopHtexSite, type HtexSite } from '../../test/support/htex-sites.ts';

export interface HtexFigures {
  tasksPerS: number;
  msPerLink: number;
}

const noop = app((x: number) => x);
const inc = app((x: number) => x + 1);

async function measure(executor: HighThroughputExecutor, tasks: number, links: number, runDir: string): Promise<HtexFigures> {
  load(new Config({ executors: [executor], runDir, retries: 0 }));
  try {
    await noop(0); // the block is up and registered
    const t0 = performance.now();
    const values = await Promise.all(Array.from({ length: tasks }, (_, i) => noop(i)));
    const tasksPerS = (tasks / (performance.now() - t0)) * 1000;
    if (!values.every((v, i) => v === i)) throw new Error('wrong results');
    const t1 = performance.now();
    let chain = inc(0);
    for (let i = 1; i < links; i++) chain = inc(chain);
    if ((await chain) !== links) throw new Error('wrong chain');
    return { tasksPerS, msPerLink: (performance.now() - t1) / links };
  } finally {
    await clear();
  }
}

/** Runs the three paths `repeat` times, interleaved; figures of each run by path. */
export async function htexPaths(net: SiteNetwork, work: string, options: { tasks: number; links: number; repeat: number; tunnelPort: number }): Promise<Map<string, HtexFigures[]>> {
  const sites: HtexSite[] = [];
  const results = new Map<string, HtexFigures[]>();
  try {
    const leafSite = await startHtexSite(net, 'h', work);
    sites.push(leafSite);
    const tunnelSite = await startHtexSite(net, 't', work, options.tunnelPort);
    sites.push(tunnelSite);
    const common = { maxWorkersPerNode: 2, heartbeatPeriod: 5_000, heartbeatThreshold: 30_000 };
    const paths: Array<[string, () => HighThroughputExecutor]> = [
      ['htex, local block (no site)', () => new HighThroughputExecutor({ label: 'h', provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }), ...common })],
      ['htex through a leaf', () => siteExecutor(leafSite, net, common)],
      [
        'htex through the SSH tunnel',
        () => siteExecutor(tunnelSite, net, { ...common, siteOverrides: { hubListen: `127.0.0.1:${tunnelSite.hubLeafPort}`, tunnel: { remotePort: options.tunnelPort } } }),
      ],
    ];
    for (let run = 0; run < options.repeat; run++) {
      for (const [name, make] of paths) {
        const figures = await measure(make(), options.tasks, options.links, work);
        results.set(name, [...(results.get(name) ?? []), figures]);
        console.error(`run ${run + 1}/${options.repeat} ${name}: ${JSON.stringify(figures)}`);
      }
    }
  } finally {
    for (const site of sites) await stopHtexSite(site);
  }
  return results;
}

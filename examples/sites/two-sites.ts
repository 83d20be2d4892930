/**
 * The seeds' multi-site demo on two sites you can run on one machine: each site is a NATS leaf
 * node started by `parsl-ts site` (as a site's administrator would on its login node), with its
 * own credential and JetStream domain; each HighThroughputExecutor is one site, its blocks
 * connect to the site's leaf only, and the leaf dials OUT to the executor's hub.
 *
 *   const platformA = app(() => …, { executors: ['siteA'] });   // pinned to a site
 *   const platformB = app(() => …, { executors: ['siteB'] });
 *   const double = app((x: number) => x * 2);                   // either: placed by free capacity
 *
 * Run: node --import tsx examples/sites/two-sites.ts
 * (test/federation-htex.test.ts runs the same demo with each site in its own network namespace
 * behind a firewall that drops every inbound connection but SSH.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, Config, HighThroughputExecutor, load, LocalProvider } from '../../src/index.ts';

const work = mkdtempSync(join(tmpdir(), 'parsl-ts-two-sites-'));
const cli = fileURLToPath(new URL('../../bin/parsl-ts.js', import.meta.url));

/** A port free now on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

interface SiteProcess {
  name: string;
  child: ChildProcess;
  leafPort: number;
  hubPort: number;
}

/** `parsl-ts site` for one site; resolves once it says it is up (it has written its credential). */
async function startSite(name: string): Promise<SiteProcess> {
  const [leafPort, hubPort] = [await freePort(), await freePort()];
  const args = [cli, 'site', '--name', name, '--hub', `nats://127.0.0.1:${hubPort}`, '--port', String(leafPort), '--listen', '127.0.0.1', '--dir', join(work, name)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('is up')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`parsl-ts site ${name} exited (${code}): ${out}`)));
  });
  return { name, child, leafPort, hubPort };
}

function siteExecutor(site: SiteProcess, workers: number): HighThroughputExecutor {
  return new HighThroughputExecutor({
    label: site.name,
    site: {
      name: site.name,
      credentialFile: join(work, site.name, 'credential.json'),
      leafUrl: `nats://127.0.0.1:${site.leafPort}`,
      hubListen: `127.0.0.1:${site.hubPort}`,
    },
    provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }),
    maxWorkersPerNode: workers,
  });
}

const sites = [await startSite('siteA'), await startSite('siteB')];
try {
  await using _dfk = load(new Config({ executors: [siteExecutor(sites[0]!, 1), siteExecutor(sites[1]!, 2)], runDir: join(work, 'runinfo') }));

  const platform = async (): Promise<string> => {
    const { hostname } = await import('node:os');
    return `${hostname()} pid ${process.pid}`;
  };
  const platformA = app(platform, { executors: ['siteA'] });
  const platformB = app(platform, { executors: ['siteB'] });
  const [atA, atB] = [await platformA(), await platformB()];
  console.log(`siteA: ${atA}`);
  console.log(`siteB: ${atB}`);

  const double = app(async (x: number) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { value: x * 2, pid: process.pid };
  });
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => double(i)));
  console.log(`double: ${results.map((r) => r.value).join(' ')}`);
  // Each site's block is one process: its pid tells where a task ran.
  const ran = (at: string): number => results.filter(({ pid }) => at.endsWith(`pid ${pid}`)).length;
  console.log(`double ran on siteA (1 worker): ${ran(atA)}, on siteB (2 workers): ${ran(atB)}`);
} finally {
  for (const site of sites) site.child.kill('SIGTERM');
  await Promise.all(sites.map((site) => new Promise((resolve) => (site.child.exitCode === null ? site.child.once('exit', resolve) : resolve(null)))));
  rmSync(work, { recursive: true, force: true });
}

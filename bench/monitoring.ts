/**
 * Cost of monitoring's store and dashboard (src/monitoring/):
 *
 *   node --import tsx bench/monitoring.ts [--tasks 100000] [--keep /path/for.db]
 *
 * - the writer: a synthetic run of N tasks (test/support/monitoring-run.ts: bash apps with
 *   resource samples, retries, failures, dependencies, memo hits; ~9 events per task),
 *   events/s and tasks/s from the first write to the last commit, and CPU seconds per 100k events;
 * - the database's size per task, once closed (the WAL folded in);
 * - each query of the dashboard's workflow page on that database (ms);
 * - the dashboard in headless Chromium: from navigation to the workflow list drawn, and from
 *   a click on the workflow to its page drawn (data-ready), the 100k-task "opens in" figure.
 * Figures only; nothing is asserted.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { MonitoringDatabase } from '../src/monitoring/database.ts';
import { startDashboard } from '../src/monitoring/server.ts';
import { MonitoringWriter } from '../src/monitoring/writer.ts';
import { emptyRun, syntheticRun } from '../test/support/monitoring-run.ts';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const tasks = Number(option('tasks') ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'parsl-ts-bench-monitoring-'));
const path = option('keep') ?? join(dir, 'monitoring.db');
rmSync(path, { force: true });
console.log(`monitoring bench: ${tasks} tasks, load average ${loadavg()[0]!.toFixed(1)} on this machine`);

// The writer.
const run = emptyRun();
const events = [...syntheticRun({ samples: Math.ceil(tasks / 3), logDir: join(dir, 'logs'), filesFor: 20 }, run)];
const writer = MonitoringWriter.open(path);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (const event of events) writer.write(event);
writer.close();
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(`writer: ${events.length} events for ${run.tasks} tasks in ${seconds.toFixed(2)} s: ${(events.length / seconds).toFixed(0)} events/s, ${(run.tasks / seconds).toFixed(0)} tasks/s; ${((cpuSeconds * 1e5) / events.length).toFixed(2)} CPU s per 100k events`);
const size = statSync(path).size;
console.log(`size: ${(size / 1e6).toFixed(1)} MB, ${(size / run.tasks).toFixed(0)} bytes per task`);

// The queries.
const db = MonitoringDatabase.open(path);
const time = (name: string, fn: () => unknown) => {
  const start = performance.now();
  fn();
  console.log(`  query ${name}: ${(performance.now() - start).toFixed(0)} ms`);
};
time('workflows', () => db.workflows());
time('workflow summary', () => db.workflow(run.runId));
time('apps', () => db.apps(run.runId));
time('failures', () => db.failures(run.runId));
time('states over time', () => db.statesOverTime(run.runId));
time('timeline (10k latest tries)', () => db.timeline(run.runId));
time('task graph', () => db.taskGraph(run.runId));
time('resources', () => db.resources(run.runId));
time('task page', () => db.task(run.runId, run.examples.failed));
db.close();

// The dashboard.
const dashboard = await startDashboard({ db: path });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(120_000);
  let start = performance.now();
  await page.goto(dashboard.url);
  await page.waitForSelector('body[data-ready="workflows"]');
  console.log(`dashboard: workflow list drawn ${(performance.now() - start).toFixed(0)} ms after navigation (libraries loaded)`);
  // Timed by the page itself (performance marks it sets when it has drawn), from just before
  // the click: Playwright notices an attribute only when the page's busy main thread lets it.
  const clickedAt = (await page.evaluate('performance.now()')) as number;
  await page.click('#workflows a');
  await page.waitForSelector(`body[data-ready="workflow:${run.runId}"]`);
  const mark = async (name: string) =>
    ((await page.evaluate(`performance.getEntriesByName(${JSON.stringify(name)}).pop()?.startTime`)) as number) - clickedAt;
  const overview = await mark(`overview:workflow:${run.runId}`);
  const all = await mark(`ready:workflow:${run.runId}`);
  console.log(`dashboard: ${run.tasks}-task workflow page, from the click (cold server cache): overview (counts, failures, apps, states) drawn in ${overview.toFixed(0)} ms, every panel in ${all.toFixed(0)} ms`);
  const shots = join(process.cwd(), 'test-output', 'monitoring');
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, 'workflow-100k.png'), fullPage: true });
  console.log(`screenshot: ${join(shots, 'workflow-100k.png')}`);
  start = performance.now();
  await page.goto(`${dashboard.url}#/`);
  await page.waitForSelector('body[data-ready="workflows"]');
  await page.click('#workflows a');
  await page.waitForSelector(`body[data-ready="workflow:${run.runId}"]`);
  console.log(`dashboard: again (server cache warm): ${(performance.now() - start).toFixed(0)} ms`);
} finally {
  await browser.close();
  await dashboard.close();
  if (option('keep') === undefined) rmSync(dir, { recursive: true, force: true });
}

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startDashboard, type Dashboard } from '../src/monitoring/server.ts';
import { MonitoringWriter } from '../src/monitoring/writer.ts';
import { tempDir } from './helpers.ts';
import { emptyRun, syntheticRun } from './support/monitoring-run.ts';

/**
 * The dashboard in headless Chromium (Debian's, driven by playwright-core), on a database
 * with a finished run and a run still being written. Each step waits on what the page sets
 * when it has drawn a view (<body data-ready>), or on the text the test expects; never on a
 * sleep. Screenshots: test-output/monitoring/.
 */

// DOCS_SCREENSHOTS=1 saves the pictures into docs/images/ for the user guide (docs/monitoring.md).
const SHOTS = process.env.DOCS_SCREENSHOTS === '1' ? join(process.cwd(), 'docs', 'images') : join(process.cwd(), 'test-output', 'monitoring');
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const dir = tempDir('parsl-ts-dashboard-');
const path = join(dir.path, 'runinfo', 'monitoring.db');
const finished = emptyRun();
const live = emptyRun();
const writer = MonitoringWriter.open(path, { flushIntervalMs: 50 });
for (const e of syntheticRun({ samples: 60, logDir: join(dir.path, 'logs'), runId: 'run-finished', workflowName: 'finished-wf' }, finished)) writer.write(e);
for (const e of syntheticRun({ samples: 10, logDir: join(dir.path, 'logs-live'), runId: 'run-live', workflowName: 'live-wf', start: Date.now() - 60_000, openSamples: 3 }, live)) writer.write(e);
writer.flush();

let dashboard: Dashboard;
let browser: Browser;
let page: Page;
const errors: string[] = [];

test.before(async () => {
  dashboard = await startDashboard({ db: path });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (e) => errors.push(e.message));
});

const ready = (view: string) => page.waitForSelector(`body[data-ready="${view}"]`);

test('bound to 127.0.0.1; libraries come from node_modules', async () => {
  assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  for (const lib of ['echarts.js', 'cytoscape.js', 'cytoscape-dagre.js']) {
    const res = await fetch(`${dashboard.url}lib/${lib}`);
    assert.is(res.status, 200, lib);
    assert.ok((await res.text()).length > 10_000, lib);
  }
});

test('the workflow list, then failures grouped by error class in two clicks', async () => {
  await page.goto(dashboard.url);
  await ready('workflows');
  assert.is(await page.locator('#workflows tr').count(), 3); // header + two runs
  await page.screenshot({ path: join(SHOTS, 'workflows.png') });
  await page.click('text=finished-wf'); // click 1
  await ready('workflow:run-finished');
  const classes = await Promise.all((await page.locator('details.failure').all()).map((d) => d.getAttribute('data-class')));
  assert.equal(classes, ['ValueError', 'RuntimeError']);
  await page.click('details.failure[data-class="RuntimeError"] summary'); // click 2
  const message = page.locator('details.failure[data-class="RuntimeError"] .msg').first();
  await message.waitFor({ state: 'visible' });
  assert.match(await message.innerText(), /solver diverged at step 4/);
  assert.match(await message.innerText(), new RegExp(`\\b${finished.examples.failed}\\b`));
  await page.screenshot({ path: join(SHOTS, 'workflow-failures.png'), fullPage: true });
});

test('rendered: counts, apps, states over time, timeline and task graph', async () => {
  assert.is(await page.textContent('#count-total'), String(finished.tasks));
  assert.is(await page.textContent('#count-failed'), String(finished.finalStates['failed']));
  assert.is(await page.locator('#apps-table tr').count(), 5);
  // A string, not a function: tsx would wrap a function's inner names in a helper the page lacks.
  const charts = await page.evaluate(`(() => {
    const option = (id) => echarts.getInstanceByDom(document.getElementById(id)).getOption();
    const timeline = option('timeline');
    return {
      timelineBars: timeline.series[0].data.length,
      lanes: timeline.yAxis[0].data,
      states: option('states').series.map((s) => s.name),
      canvases: document.querySelectorAll('#timeline canvas, #states canvas, #graph canvas').length,
    };
  })()`) as { timelineBars: number; lanes: string[]; states: string[]; canvases: number };
  assert.is(charts.timelineBars, finished.tries);
  assert.ok(charts.lanes.some((l) => l.startsWith('htex/0/node-a')), charts.lanes.join());
  assert.ok(charts.states.includes('exec_done') && charts.states.includes('failed'), charts.states.join());
  assert.ok(charts.canvases >= 3);
  const graph = (await page.evaluate(
    `({ nodes: cy.nodes().length, edges: cy.edges().length, failed: cy.nodes('[state = "failed"]').map((n) => n.id()) })`,
  )) as { nodes: number; edges: number; failed: string[] };
  assert.is(graph.nodes, finished.tasks);
  assert.ok(graph.edges >= 2 * 60);
  assert.ok(graph.failed.includes(String(finished.examples.failed)));
  // Resources: a CPU and a memory line per node and process; the block's states; the node.
  const resources = (await page.evaluate(`(() => {
    const option = (id) => echarts.getInstanceByDom(document.getElementById(id)).getOption();
    return { cpu: option('cpu').series.map((s) => s.name), rss: option('rss').series.filter((s) => s.data.length > 0).length };
  })()`)) as { cpu: string[]; rss: number };
  assert.equal([...resources.cpu].sort(), ['node-a pid 1000', 'node-a pid 1001', 'node-a pid 1002', 'node-a pid 1003']);
  assert.is(resources.rss, 4);
  const blockStates = await page.locator('#blocks-table tr td:nth-child(4)').allTextContents();
  assert.equal(blockStates, ['PENDING', 'RUNNING', 'COMPLETED']);
  const node = await page.locator('#nodes-table tr td').allTextContents();
  assert.equal(node.slice(0, 6), ['node-a', '0', '4', '7.5 GiB', '4', 'yes']);
});

test("a task's page: tries with the error and its stack; a bash task's stdout and stderr", async () => {
  await page.click(`details.failure[data-class="RuntimeError"] .msg a:text-is("${finished.examples.failed}")`);
  await ready(`task:run-finished:${finished.examples.failed}`);
  assert.is(await page.textContent('#task-state'), 'failed');
  assert.is(await page.locator('#tries tr').count(), 3);
  assert.match(await page.locator('pre.stack').first().innerText(), /RuntimeError: solver diverged[\s\S]*at simulate/);
  await page.screenshot({ path: join(SHOTS, 'task-failed.png'), fullPage: true });
  await page.goto(`${dashboard.url}#/t/run-finished/${finished.examples.bash}`);
  await ready(`task:run-finished:${finished.examples.bash}`);
  assert.match(await page.textContent('#stdout') ?? '', /generating sample 0/);
  assert.match(await page.textContent('#stderr') ?? '', /sample 0 is synthetic/);
  assert.match(await page.textContent('#args') ?? '', /generate\(0, seed=0\)/);
  await page.screenshot({ path: join(SHOTS, 'task-bash.png'), fullPage: true });
});

test('live: a running workflow\'s counts change without a reload while the writer adds tasks', async () => {
  await page.goto(`${dashboard.url}#/w/run-live`);
  await ready('workflow:run-live');
  await page.evaluate(() => ((globalThis as any).__sameDocument = true));
  assert.is(await page.textContent('#count-total'), String(live.tasks));
  const renders = Number(await page.getAttribute('body', 'data-renders'));
  const now = Date.now();
  for (let i = 0; i < 25; i++) {
    const taskId = 10_000 + i;
    writer.write({ type: 'task-submitted', runId: 'run-live', taskId, time: now + i, funcName: 'late_app' });
    writer.write({ type: 'task-state', runId: 'run-live', taskId, tryId: 0, state: 'pending', time: now + i });
    writer.write({ type: 'try-launched', runId: 'run-live', taskId, tryId: 0, time: now + i, executor: 'threads' });
    writer.write({ type: 'task-state', runId: 'run-live', taskId, tryId: 0, state: 'running', time: now + i });
  }
  // (committed by the writer's timer, within 50 ms: no flush() here)
  await page.waitForFunction(`document.getElementById('count-total')?.textContent === '${live.tasks + 25}'`);
  console.log(`  live: the page showed the new tasks ${Date.now() - now} ms after they were written (a figure, not asserted)`);
  // The counts are drawn first; the page is drawn again whole (data-renders) after its heavy panels.
  await page.waitForFunction(`Number(document.body.dataset.renders) > ${renders}`);
  assert.ok(await page.evaluate(() => (globalThis as any).__sameDocument === true), 'the page was not reloaded');
  assert.ok(Number(await page.textContent('#count-running')) >= 25);
  await page.screenshot({ path: join(SHOTS, 'workflow-live.png'), fullPage: true });
});

test('no error on the page', () => {
  assert.equal(errors, []);
});

test.after(async () => {
  await browser?.close();
  await dashboard?.close();
  writer.close();
  dir.remove();
});

test.run();

// Monitoring of a HighThroughputExecutor: a real block started by a LocalProvider sends its
// registration, its tries' places and resource samples over NATS; the database is read with SQL.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { app, bashApp, clear, Config, dfk, HighThroughputExecutor, load, LocalProvider, MonitoringHub, ThreadPoolExecutor } from '../src/index.ts';
import { chromium } from 'playwright-core';
import { loadSqlite } from '../src/common/sqlite.ts';
import { startDashboard } from '../src/monitoring/server.ts';
import { deadline, tempDir, waitFor } from './helpers.ts';

const work = tempDir();
test.after(async () => {
  await clear();
  work.remove();
});

type Row = Record<string, any>;
/** The first test's run, which the dashboard test draws. */
const done: { dbPath?: string; runId?: string; bashPid?: number; blocks?: number; nodes?: number } = {};

test('monitoring - an HTEX run records its block, node, where each try ran and resource samples with a final one', async () => {
  const runDir = join(work.path, 'runs');
  const dbPath = join(runDir, 'monitoring.db');
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({
          label: 'htex',
          provider: new LocalProvider({ initBlocks: 1, minBlocks: 0, maxBlocks: 1 }),
          maxWorkersPerNode: 2,
          heartbeatPeriod: 300,
          heartbeatThreshold: 5_000,
        }),
        new ThreadPoolExecutor({ label: 'threads', maxThreads: 1 }),
      ],
      runDir,
      progress: false,
      monitoring: new MonitoringHub({ workflowName: 'htex-monitoring', resourceMonitoringInterval: 200 }),
    }),
  );
  const runId = dfk().runId;
  // Each held app blocks on a FIFO until the test writes to it: it runs for as long as the test needs.
  const bashFifo = join(work.path, 'bash.fifo');
  const fnFifo = join(work.path, 'fn.fifo');
  execFileSync('mkfifo', [bashFifo, fnFifo]);
  const heldBash = bashApp((fifo: string) => `cat ${fifo} > /dev/null`, { name: 'held_bash', executors: ['htex'] });
  const heldFn = app(
    async (fifo: string) => {
      const { readFile } = await import('node:fs/promises');
      return (await readFile(fifo, 'utf8')).length;
    },
    { name: 'held_fn', executors: ['htex'] },
  );
  const square = app((x: number) => x * x, { name: 'square', executors: ['htex'] });
  const onThreads = app((x: number) => x + 1, { name: 'on_threads', executors: ['threads'] });

  const bash = heldBash(bashFifo);
  const fn = heldFn(fnFifo);
  const Sqlite = loadSqlite('monitoring');
  const samplesOf = (taskId: number): Row[] => {
    if (!existsSync(dbPath)) return []; // the writer thread has not created it yet
    const db = new Sqlite(dbPath, { readonly: true });
    try {
      // The writer creates the file, then its tables, in its own thread.
      if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'resource'").get()) return [];
      return db.prepare('SELECT * FROM resource WHERE run_id = ? AND task_id = ? ORDER BY timestamp').all(runId, taskId) as Row[];
    } finally {
      db.close();
    }
  };
  // Both tries are running on the block and have been sampled while they run.
  await waitFor(() => samplesOf(bash.tid).length > 0 && samplesOf(fn.tid).length > 0, 'resource samples of the running tries', 90_000);
  writeFileSync(bashFifo, 'go\n');
  writeFileSync(fnFifo, 'go\n');
  assert.is(await deadline(bash, 60_000), 0);
  assert.is(await deadline(fn, 60_000), 3);
  const squares = await deadline(Promise.all([1, 2, 3].map((x) => square(x))), 60_000);
  assert.equal(squares, [1, 4, 9]);
  assert.is(await deadline(onThreads(1), 60_000), 2);
  const ids = { bash: bash.tid, fn: fn.tid };
  await clear();

  const db = new Sqlite(dbPath, { readonly: true });
  try {
    const blocks = db.prepare('SELECT * FROM block WHERE run_id = ? ORDER BY timestamp, rowid').all(runId) as Row[];
    assert.equal([...new Set(blocks.map((b) => b.block_id))], ['0'], 'one block');
    // PENDING is missed only if the block registers before the provider answers with its job id.
    const statuses = blocks.map((b) => b.status).filter((status) => status !== 'PENDING');
    assert.equal(statuses, ['SUBMITTING', 'RUNNING', 'CANCELLED'], blocks.map((b) => b.status).join());
    assert.ok(blocks.every((b) => b.executor_label === 'htex'));
    assert.ok(blocks.at(-1)!.job_id && String(blocks.at(-1)!.job_id).length > 0, 'the job id once known');

    const nodes = db.prepare('SELECT * FROM node WHERE run_id = ? ORDER BY id').all(runId) as Row[];
    assert.equal(nodes.map((n) => n.active), [1, 0], 'registered, then inactive at the end');
    const node = nodes[0]!;
    assert.is(node.hostname, hostname());
    assert.is(node.block_id, '0');
    assert.is(node.cpu_count, availableParallelism());
    assert.is(node.total_memory, totalmem());
    assert.is(node.worker_count, 2);
    assert.is(node.python_v, process.version);
    const blockPid = Number(String(node.uid).split('-').pop());
    assert.ok(blockPid > 0 && blockPid !== process.pid, 'the node is the block manager process');

    const tries = db.prepare("SELECT t.*, k.task_func_name FROM try t JOIN task k USING (task_id, run_id) WHERE t.run_id = ? AND t.task_executor = 'htex'").all(runId) as Row[];
    assert.is(tries.length, 5);
    for (const t of tries) {
      assert.is(t.block_id, '0', `try of ${t.task_func_name} has its block`);
      assert.is(t.hostname, hostname(), `try of ${t.task_func_name} has its host`);
    }

    const bashSamples = samplesOf(ids.bash);
    const fnSamples = samplesOf(ids.fn);
    assert.ok(bashSamples.length >= 2, `a sample while running and a final one (${bashSamples.length})`);
    assert.ok(fnSamples.length >= 2, `a sample while running and a final one (${fnSamples.length})`);
    // The bash app's command is its own process; a function runs in the block manager's.
    assert.ok(bashSamples.every((s) => s.psutil_process_pid !== blockPid && s.psutil_process_pid > 0), JSON.stringify(bashSamples));
    assert.ok(fnSamples.every((s) => s.psutil_process_pid === blockPid));
    assert.is(bashSamples.at(-1)!.psutil_process_status, 'exited', 'the final sample of a command');
    for (const s of [...bashSamples, ...fnSamples]) {
      assert.ok(s.psutil_process_memory_resident > 0, 'resident memory');
      assert.ok(s.psutil_process_time_user >= 0 && s.psutil_process_time_system >= 0, 'CPU times');
      assert.is(s.resource_monitoring_interval, 0.2);
    }
    // Every HTEX try has its final sample, taken as it ended (quick ones were never sampled before).
    for (const t of tries) {
      const samples = samplesOf(t.task_id);
      assert.ok(samples.length >= 1, `try of ${t.task_func_name} has a final sample`);
      assert.ok(samples.at(-1)!.timestamp >= t.task_try_time_launched, 'the final sample is after the launch');
    }
    // Thread-pool tasks record no resource rows.
    const threadTask = db.prepare("SELECT task_id FROM task WHERE run_id = ? AND task_func_name = 'on_threads'").get(runId) as Row;
    assert.is(samplesOf(threadTask.task_id).length, 0);
    Object.assign(done, { dbPath, runId, bashPid: bashSamples[0]!.psutil_process_pid, blocks: blocks.length, nodes: nodes.length });
  } finally {
    db.close();
  }
});

test("dashboard - the HTEX run's blocks, nodes and resource lines are drawn", async () => {
  assert.ok(done.dbPath, 'the run above finished');
  const shots = join(process.cwd(), 'test-output', 'monitoring');
  mkdirSync(shots, { recursive: true });
  const dashboard = await startDashboard({ db: done.dbPath });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(60_000);
    await page.goto(`${dashboard.url}#/w/${encodeURIComponent(done.runId!)}`);
    await page.waitForSelector(`body[data-ready="workflow:${done.runId}"]`);
    assert.is(await page.locator('#blocks-table tr').count(), done.blocks! + 1, 'a row per block state, and the header');
    assert.is(await page.locator('#nodes-table tr').count(), done.nodes! + 1, 'a row per node report, and the header');
    const lines = (await page.evaluate(`echarts.getInstanceByDom(document.getElementById('cpu')).getOption().series.map((s) => s.name)`)) as string[];
    assert.ok(lines.includes(`${hostname()} pid ${done.bashPid}`), `the bash command's line: ${lines.join()}`);
    await page.screenshot({ path: join(shots, 'htex-run.png'), fullPage: true });
  } finally {
    await browser.close();
    await dashboard.close();
  }
});

test.run();

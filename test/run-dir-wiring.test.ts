// Run directories wired into the kernel: numbered per load(), AUTO_LOGNAME task logs, and an
// HTEX run whose NATS store and submit scripts stay in the run directory (nothing in /tmp).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AUTO_LOGNAME, bashApp, clear, Config, dfk, HighThroughputExecutor, load, LocalProvider, ThreadPoolExecutor } from '../src/index.ts';
import { deadline, tempDir } from './helpers.ts';

const work = tempDir();
test.after.each(() => clear());
test.after(() => work.remove());

const threads = (): ThreadPoolExecutor => new ThreadPoolExecutor({ maxThreads: 1 });

test('run dir - each load() makes the next numbered directory', async () => {
  const runDir = join(work.path, 'numbered');
  load(new Config({ executors: [threads()], runDir }));
  const first = dfk().runDir;
  await clear();
  load(new Config({ executors: [threads()], runDir }));
  const second = dfk().runDir;
  assert.is(first, join(runDir, '000'));
  assert.is(second, join(runDir, '001'));
  for (const sub of ['checkpoint', 'task_logs', 'submit_scripts', 'nats']) assert.ok(existsSync(join(second, sub)), sub);
});

test('run dir - AUTO_LOGNAME gives each task its own stdout and stderr file', async () => {
  const runDir = join(work.path, 'logs');
  load(new Config({ executors: [threads()], runDir }));
  const sortNumbers = bashApp((word: string, _o: { stdout: string; stderr: string }) => `echo out-${word}; echo err-${word} >&2`, { name: 'sortNumbers' });
  const a = sortNumbers('a', { stdout: AUTO_LOGNAME, stderr: AUTO_LOGNAME });
  const b = sortNumbers('b', { stdout: AUTO_LOGNAME, stderr: AUTO_LOGNAME });
  await deadline(Promise.all([a, b]), 30_000);
  const folder = join(dfk().runDir, 'task_logs', '0000');
  assert.is(a.stdout, join(folder, `task_${String(a.tid).padStart(4, '0')}_sortNumbers.stdout`));
  assert.is(b.stderr, join(folder, `task_${String(b.tid).padStart(4, '0')}_sortNumbers.stderr`));
  assert.is(readFileSync(a.stdout!, 'utf8'), 'out-a\n');
  assert.is(readFileSync(a.stderr!, 'utf8'), 'err-a\n');
  assert.is(readFileSync(b.stdout!, 'utf8'), 'out-b\n');
});

test('run dir - an HTEX run keeps its NATS store and submit scripts in the run directory', async () => {
  const runDir = join(work.path, 'htex');
  const executor = new HighThroughputExecutor({
    provider: new LocalProvider({ initBlocks: 1, minBlocks: 0, maxBlocks: 1 }),
    maxWorkersPerNode: 1,
    heartbeatPeriod: 300,
    heartbeatThreshold: 2_000,
  });
  load(new Config({ executors: [executor], runDir }));
  const echo = bashApp(() => 'echo hi');
  await deadline(echo(), 60_000);
  const run = dfk().runDir;
  const scripts = readdirSync(join(run, 'submit_scripts'));
  assert.ok(scripts.some((name) => name.endsWith('.submit')), `a submit script in ${run}/submit_scripts: ${scripts.join(', ')}`);
  assert.ok(scripts.some((name) => name.endsWith('.submit.stdout')), 'the block stdout is there too');
  assert.ok(existsSync(join(run, 'nats', 'htex', 'nats.log')), 'the NATS log in <run>/nats/htex');
  assert.ok(existsSync(join(run, 'nats', 'htex', 'jetstream')) || readdirSync(join(run, 'nats', 'htex')).length > 1, 'the NATS store');
  const shared = join(tmpdir(), 'parsl-ts-scripts');
  const leaked = existsSync(shared) ? readdirSync(shared).filter((name) => scripts.includes(basename(name))) : [];
  assert.equal(leaked, [], 'none of this run\'s scripts in /tmp/parsl-ts-scripts');
});

test.run();

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MonitoringWriter } from '../src/monitoring/writer.ts';
import { deadline, tempDir } from './helpers.ts';
import { emptyRun, syntheticRun } from './support/monitoring-run.ts';

const BIN = join(process.cwd(), 'bin', 'parsl-ts.js');
const dir = tempDir('parsl-ts-monitor-cli-');
const run = emptyRun();
{
  const writer = MonitoringWriter.open(join(dir.path, 'runinfo', 'monitoring.db'));
  for (const e of syntheticRun({ samples: 5, logDir: join(dir.path, 'logs') }, run)) writer.write(e);
  writer.close();
}

test('parsl-ts monitor: serves runinfo/monitoring.db on 127.0.0.1 until Ctrl-C', async () => {
  const child = spawn(process.execPath, [BIN, 'monitor', '--port', '0'], { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    const url = await deadline(
      new Promise<string>((resolve) =>
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          const match = /dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (match) resolve(match[1]!);
        }),
      ),
      60_000,
      'the dashboard address',
    );
    const workflows = (await (await fetch(`${url}api/workflows`)).json()) as { runId: string; tasks: number }[];
    assert.equal(workflows.map((w) => [w.runId, w.tasks]), [[run.runId, run.tasks]]);
    assert.match(await (await fetch(url)).text(), /<script src="\/lib\/echarts\.js">/);
    child.kill('SIGINT');
    const [code] = await deadline(once(child, 'exit'), 30_000, 'exit after SIGINT');
    assert.is(code, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('parsl-ts monitor: a bad port, a missing database, a bad URL are usage errors (status 2)', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, 'monitor', ...args], { cwd: dir.path, encoding: 'utf8', timeout: 60_000 });
  let r = cli('--port', 'eighty');
  assert.is(r.status, 2);
  assert.match(r.stderr, /--port expects a port number/);
  r = cli('--db', 'sqlite:///nowhere.db');
  assert.is(r.status, 2);
  assert.match(r.stderr, /no monitoring database at .*nowhere\.db/);
  r = cli('--db', 'postgresql://x/y');
  assert.is(r.status, 2);
  assert.match(r.stderr, /only SQLite/);
  r = cli('--help');
  assert.is(r.status, 0);
  assert.match(r.stdout, /Usage: parsl-ts monitor/);
});

test.after(() => dir.remove());
test.run();

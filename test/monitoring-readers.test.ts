import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MonitoringWriter } from '../src/monitoring/writer.ts';
import { deadline, tempDir } from './helpers.ts';
import { emptyRun, syntheticRun } from './support/monitoring-run.ts';

test('a reader querying in a loop while the writer writes 100,000 events: no error, never "database is locked"', async () => {
  const dir = tempDir('parsl-ts-monitoring-readers-');
  const path = join(dir.path, 'monitoring.db');
  const writer = MonitoringWriter.open(path);
  const reader = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/monitoring-reader.ts', path, 'run-synthetic'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    reader.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await deadline(
      new Promise<void>((resolve) => reader.stdout!.on('data', () => out.includes('ready') && resolve())),
      60_000,
      'the reader',
    );
    const run = emptyRun();
    let events = 0;
    for (const event of syntheticRun({ samples: 11_400, logDir: join(dir.path, 'logs'), filesFor: 0 }, run)) {
      writer.write(event);
      // Let the writer's process breathe between batches, as a run's would.
      if (++events % 5000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    writer.close();
    assert.ok(events >= 100_000, `${events} events`);
    reader.stdin!.end();
    await deadline(once(reader, 'exit'), 60_000, 'the reader to stop');
    const result = JSON.parse(out.trim().split('\n').pop()!);
    assert.is(result.errorCount, 0, JSON.stringify(result.errors));
    assert.ok(result.monotonic, 'task counts never went back');
    console.log(`  reader: ${result.queries} queries, ${result.distinctCounts} distinct task counts seen, 0 errors`);
    assert.ok(result.distinctCounts >= 2, `the reader saw the run grow (${result.distinctCounts} distinct counts in ${result.queries} queries)`);
  } finally {
    reader.kill();
    dir.remove();
  }
});

test.run();

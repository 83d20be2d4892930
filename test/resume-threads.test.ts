import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, tempDir } from './helpers.ts';
import { runCampaign, seeded } from './support/campaign.ts';

const TASKS = Number(process.env.PARSL_TS_CAMPAIGN_TASKS ?? 2000);

test('resume - thread executor: five kill -9s and resumes lose and repeat no finished task', async () => {
  const dir = tempDir();
  try {
    const seed = Number(process.env.PARSL_TS_CAMPAIGN_SEED ?? Date.now() % 100_000);
    const report = await deadline(
      runCampaign({ kind: 'threads', dir: dir.path, tasks: TASKS, busyMs: 2, kills: 5, random: seeded(seed), log: (line) => console.log(`  ${line}`) }),
      240_000,
      'the campaign',
    );
    console.log(
      `  threads, seed ${seed}: ${report.drivers} drivers, seen done at each kill ${report.seenPerKill.join(', ')}; ` +
        `side-effect log at each kill ${report.logLinesPerKill.join(', ')}; ` +
        `${report.ranTwice.length} of ${TASKS} tasks ran twice (${report.ranTwice.slice(0, 10).join(' ')}…), ` +
        `${report.repeatedAfterDone.length} after a driver saw them done (${report.repeatedAfterDone.slice(0, 10).join(' ')}…) (tries running at a kill run again on threads); last driver: ${report.lastCounts}`,
    );
    assert.is(report.drivers, 6, 'five kills, six drivers');
    assert.equal(report.wrong, [], 'every result equals the uninterrupted one');
    assert.equal(report.repeatedAfterDone, [], 'no task whose result a driver had seen ran again');
    assert.ok(report.ranTwice.length <= 5 * 2 * 2, 'at most the tries on the threads at each kill ran twice');
    assert.equal(readdirSync(join(dir.path, 'runinfo')), ['000'], 'the resumed drivers worked in the run directory they resumed');
  } finally {
    dir.remove();
  }
});

test('resume - examples/campaign.ts: stopped with Ctrl-C, resumed with --resume, keeps what was done', async () => {
  const dir = tempDir();
  try {
    const bin = new URL('../bin/parsl-ts.js', import.meta.url).pathname;
    const example = new URL('../examples/campaign.ts', import.meta.url).pathname;
    const start = (resume: boolean) =>
      spawn(process.execPath, [bin, 'run', ...(resume ? ['--resume'] : []), example, '200'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PARSL_EXAMPLE_DIR: dir.path, PARSL_TS_RESUME: '' },
      });
    const first = start(false);
    let out = '';
    first.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      // Interrupted once it has shown progress: an event, not a timer.
      if (/50\/200 simulations done/.test(out)) first.kill('SIGINT');
    });
    const [code] = (await deadline(once(first, 'close'), 120_000, 'the interrupted run')) as [number | null];
    assert.is(code, 130, 'Ctrl-C stops the run with status 130');
    const second = start(true);
    let resumed = '';
    second.stdout.setEncoding('utf8').on('data', (chunk: string) => (resumed += chunk));
    const [status] = (await deadline(once(second, 'close'), 120_000, 'the resumed run')) as [number | null];
    assert.is(status, 0, resumed);
    assert.match(resumed, /mean of 200 simulations: 0\.\d+/);
    const counts = JSON.parse(/run directory \S+\/runinfo\/000: (\{.*\})/.exec(resumed)![1]!) as Record<string, number>;
    assert.ok((counts.memo_done ?? 0) >= 50, `the 50+ simulations done before Ctrl-C end memo_done (${JSON.stringify(counts)})`);
  } finally {
    dir.remove();
  }
});

test.run();

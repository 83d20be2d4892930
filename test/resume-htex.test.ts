import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, processAlive, tempDir, waitFor } from './helpers.ts';
import { drive, runCampaign, seeded } from './support/campaign.ts';

const TASKS = Number(process.env.PARSL_TS_CAMPAIGN_TASKS ?? 2000);

/** Processes whose command line mentions `needle` (blocks name their run id, the server its config file). */
function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) found.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

test('resume - HTEX, two local blocks: five kill -9s and resumes; tries on surviving blocks are adopted, not run again', async () => {
  const dir = tempDir();
  try {
    const seed = Number(process.env.PARSL_TS_CAMPAIGN_SEED ?? Date.now() % 100_000);
    const report = await deadline(
      runCampaign({ kind: 'htex', dir: dir.path, tasks: TASKS, busyMs: 5, kills: 5, random: seeded(seed), log: (line) => console.log(`  ${line}`) }),
      300_000,
      'the campaign',
    );
    console.log(
      `  htex, seed ${seed}: ${report.drivers} drivers, seen done at each kill ${report.seenPerKill.join(', ')}; ` +
        `side-effect log at each kill ${report.logLinesPerKill.join(', ')}; ` +
        `${report.ranTwice.length} of ${TASKS} tasks ran twice (${report.ranTwice.slice(0, 10).join(' ')}…), ` +
        `${report.repeatedAfterDone.length} after a driver saw them done (${report.repeatedAfterDone.slice(0, 10).join(' ')}…); last driver: ${report.lastCounts}`,
    );
    assert.is(report.drivers, 6, 'five kills, six drivers');
    assert.equal(report.wrong, [], 'every result equals the uninterrupted one');
    assert.equal(report.repeatedAfterDone, [], 'no task whose result a driver had seen ran again');
    // No block was lost, so a try under way at a kill is adopted by the next driver. What may run
    // twice: a result the killed driver had received but not yet committed to its checkpoint.
    assert.ok(report.ranTwice.length <= 5 * 4, `at most the tries in flight at each kill ran twice (${report.ranTwice.length})`);
    const state = JSON.parse(readFileSync(join(dir.path, 'runinfo/000/nats/htex/htex.json'), 'utf8')) as { runId: string; blocks: string[] };
    assert.ok(state.blocks.length >= 12, `each driver started its own blocks (${state.blocks.join(', ')})`);
    // Nothing outlives the campaign: the blocks of every driver and the server end with the last one.
    await waitFor(() => processesWith(state.runId).length === 0 && processesWith(dir.path).length === 0, 'the blocks and the server to end', 60_000);
  } finally {
    dir.remove();
  }
});

test('resume - the blocks outlive a killed driver, then end after their heartbeat threshold if no driver comes back; its nats-server ends with it', async () => {
  const dir = tempDir();
  try {
    const options = { kind: 'htex' as const, dir: dir.path, tasks: 400, busyMs: 20, kills: 1, random: Math.random, env: { CAMPAIGN_HEARTBEAT_THRESHOLD: '3000' } };
    const outcome = await deadline(drive(options, false, new Set(), 20, new Map()), 120_000, 'the driver');
    assert.is(outcome.signal, 'SIGKILL');
    const state = JSON.parse(readFileSync(join(dir.path, 'runinfo/000/nats/htex/htex.json'), 'utf8')) as { runId: string; serverPid: number };
    assert.ok(processesWith(state.runId).length >= 2, 'the blocks survive the kill -9 of their driver');
    await waitFor(() => !processAlive(state.serverPid), 'the nats-server to end with its driver (parent-death signal)', 30_000);
    await waitFor(() => processesWith(state.runId).length === 0, 'the blocks to end after their heartbeat threshold', 60_000);
  } finally {
    dir.remove();
  }
});

test.run();

// The bookkeeping of HTEX adoption (src/actors/htex/adopt.ts), on its own: the tries journal
// that one driver writes and the next reads, and what the next does with each call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Adoption, COMPACT_AFTER_BYTES, JOURNAL_FILE, nextBlockNumber, readRunState, writeRunState } from '../src/actors/htex/adopt.ts';
import { letGo } from '../src/actors/htex/let-go.ts';
import type { ExecTask } from '../src/actors/messages.ts';
import { tempDir } from './helpers.ts';

const work = tempDir();
test.after(() => work.remove());
let dirs = 0;
const fresh = () => join(work.path, `d${dirs++}`);

const key = (n: number) => n.toString(16).padStart(64, '0');
const task = (taskId: number, memoKey?: string): ExecTask =>
  ({ taskId, attempt: 1, kind: 'python', fn: { id: 1, ref: { kind: 'source', name: 'f', source: '() => 0' } }, local: () => 0, args: [], memoKey }) as ExecTask;
const ok = (taskId: number, value: unknown, attempt = 1) => ({ taskId, attempt, ok: true as const, value });
const never = () => false;

test('adopt - a try journalled by the driver before is adopted by the call with its key, and its result given to that call', () => {
  const dir = fresh();
  const before = new Adoption(dir, false, [], 1_000);
  assert.equal(before.take([task(1, key(1)), task(2, key(2)), task(3)]).publish.map((t) => t.taskId), [1, 2, 3], 'a first driver publishes everything');
  before.held('0', [{ taskId: 1, attempt: 1 }]);
  before.reported([ok(2, 'two')]);
  before.committed([ok(2, 'two')]);
  // The driver dies here: try 1 runs on block 0, try 2 is done and committed.

  const after = new Adoption(dir, true, ['0'], 1_000);
  assert.is(after.expected, 1, 'only the unreported try is expected');
  const taken = after.take([task(10_001, key(1)), task(10_002, key(2))]);
  assert.equal(taken.publish.map((t) => t.taskId), [10_002], "the call whose try is done runs (its result was the driver's, not the checkpoint's)");
  assert.is(after.adopted, 1);
  assert.ok(after.isWanted(1, 1, '0', never), 'the try is still wanted on the block that holds it');
  assert.not.ok(after.isWanted(1, 1, '5', never), 'not on another block while its holder is alive');
  assert.not.ok(after.isWanted(2, 1, '5', never), 'a reported try is not wanted again');
  const forwarded = after.reported([ok(1, 'one')]);
  assert.equal(forwarded, { forward: [ok(10_001, 'one')], kept: 0 }, "the earlier try's result goes to the call that adopted it");
  assert.is(after.adopted, 0);
  assert.not.match(readFileSync(join(dir, JOURNAL_FILE), 'utf8'), /^R 1 1$/m, 'not journalled before the DFK committed it');
  after.committed([ok(1, 'one')]);
  assert.match(readFileSync(join(dir, JOURNAL_FILE), 'utf8'), /^R 1 1$/m, 'and is journalled as reported');
});

test('adopt - a result that comes before its call waits for it; a second identical call runs; a torn last line is skipped', () => {
  const dir = fresh();
  new Adoption(dir, false, [], 1_000).take([task(1, key(7))]);
  appendFileSync(join(dir, JOURNAL_FILE), '2 1 00ab'); // killed mid-write
  const after = new Adoption(dir, true, [], 1_000);
  assert.equal(after.reported([ok(1, 'seven')]), { forward: [], kept: 1 }, 'kept, not forwarded: no call has it yet');
  assert.equal(after.take([task(50, key(7))]).outcomes, [ok(50, 'seven')]);
  const again = new Adoption(dir, true, [], 1_000);
  const first = again.take([task(60, key(7))]);
  const second = again.take([task(61, key(7))]);
  assert.equal([first.publish.length, second.publish.length], [0, 1], 'the first waits, the second runs');
});

test('adopt - a result the driver read but the DFK never committed is still expected by the next driver', () => {
  const dir = fresh();
  const before = new Adoption(dir, false, [], 1_000);
  before.take([task(1, key(1)), task(2, key(2))]);
  before.held('0', [{ taskId: 1, attempt: 1 }, { taskId: 2, attempt: 1 }]);
  // Both results came; the DFK committed only try 2's before the kill.
  assert.equal(before.reported([ok(1, 'one'), ok(2, 'two')]).forward.length, 2);
  before.committed([ok(2, 'two')]);

  const after = new Adoption(dir, true, ['0'], 1_000);
  assert.is(after.expected, 1, 'try 1 is still expected: its result is still in the results stream, not acked');
  assert.equal(after.take([task(10_001, key(1))]).publish, [], 'its call waits for it rather than running again');
  assert.equal(after.reported([ok(1, 'one')]).forward, [ok(10_001, 'one')], 'and gets it when the stream hands it over again');
});

test('adopt - a resumed driver rewrites the journal with only the unreported tries of cached calls', () => {
  const dir = fresh();
  const journal = join(dir, JOURNAL_FILE);
  const before = new Adoption(dir, false, [], 1_000);
  before.take([task(1, key(1)), task(2, key(2)), task(3, key(3)), task(4)]);
  before.held('0', [{ taskId: 1, attempt: 1 }, { taskId: 2, attempt: 1 }, { taskId: 4, attempt: 1 }]);
  before.committed([ok(2, 'two'), ok(4, 'four')]);
  assert.not.match(readFileSync(journal, 'utf8'), /^(H |R )?4 /m, 'an uncached try is not journalled: nothing could adopt it');

  new Adoption(dir, true, ['0'], 1_000); // dies at once
  assert.equal(readFileSync(journal, 'utf8').split('\n').filter(Boolean), [`1 1 ${key(1)}`, 'H 1 1 0', `3 1 ${key(3)}`]);
  const third = new Adoption(dir, true, ['0'], 1_000);
  assert.is(third.expected, 2, 'the rewritten journal still holds every unreported try');
  assert.ok(third.isWanted(1, 1, '0', never), 'with its holder');
  assert.not.ok(third.isWanted(1, 1, '7', () => true), 'another block does not take a try its live holder has');
});

test('adopt - a long run rewrites its journal as it grows: it keeps the size of the tries in flight', () => {
  const dir = fresh();
  const journal = join(dir, JOURNAL_FILE);
  const run = new Adoption(dir, false, [], 1_000);
  const perBatch = 1_000;
  const lineBytes = 64 + 12;
  const batches = Math.ceil((2 * COMPACT_AFTER_BYTES) / (perBatch * lineBytes)) + 1;
  let id = 1;
  for (let b = 0; b < batches; b++) {
    const tries = Array.from({ length: perBatch }, () => task(id, key(id++)));
    run.take(tries);
    run.held('0', tries);
    // All but the first try of each of the first three batches end.
    run.committed(tries.filter((t) => !(b < 3 && t.taskId === tries[0]!.taskId)).map((t) => ok(t.taskId, 0)));
  }
  assert.ok(statSync(journal).size < COMPACT_AFTER_BYTES + perBatch * 3 * lineBytes, `journal of ${statSync(journal).size} bytes after ${id - 1} tries`);
  const next = new Adoption(dir, true, ['0'], 1_000);
  assert.is(next.expected, 3, 'the three unreported tries survive the rewrites');
  assert.equal(next.take([task(90_001, key(1)), task(90_002, key(1_001)), task(90_003, key(2_001)), task(90_004, key(5))]).publish.map((t) => t.taskId), [90_004]);
});

test('adopt - let go of results only once committed, and not while some wait for their call', () => {
  const dir = fresh();
  const adoption = new Adoption(dir, false, [], 1_000);
  adoption.take([task(3, key(3)), task(4, key(4))]);
  let acks = 0;
  const ack = () => void acks++;
  const committed = letGo(adoption, [ok(3, 'three')], 0, ack);
  assert.is(acks, 0, 'nothing acked before the commit');
  committed();
  assert.is(acks, 1, 'acked after it');
  assert.match(readFileSync(join(dir, JOURNAL_FILE), 'utf8'), /^R 3 1$/m, 'and journalled as reported');
  letGo(adoption, [ok(4, 'four')], 1, ack)();
  assert.is(acks, 1, 'a report holding a result kept for a call to come is not acked: it comes again');
  assert.not.match(readFileSync(join(dir, JOURNAL_FILE), 'utf8'), /^R 4 1$/m);
  letGo(adoption, [ok(5, 'five')], 0, () => {
    throw new Error('connection closed');
  })();
});

test('adopt - a waiting call is given up when its block is silent past the threshold, or when no block holds it and the queues are empty', async () => {
  const dir = fresh();
  const before = new Adoption(dir, false, [], 1_000);
  before.take([task(1, key(1)), task(2, key(2))]);
  before.held('0', [{ taskId: 1, attempt: 1 }]);
  const after = new Adoption(dir, true, ['0'], 50);
  after.take([task(101, key(1)), task(102, key(2))]);
  assert.equal(after.givenUp(false, never).map((t) => t.taskId), [], 'nothing yet: the holder was heard at start, the other may be queued');
  assert.equal(after.givenUp(true, never).map((t) => t.taskId), [102], 'no holder and nothing queued: run it');
  assert.equal(after.givenUp(false, () => true), [], 'a holder that is one of ours, alive, keeps it');
  await new Promise((resolve) => setTimeout(resolve, 80)); // past the 50 ms threshold: the condition itself is time
  assert.equal(after.givenUp(false, never).map((t) => t.taskId), [101], 'a holder silent past the threshold is lost');
  assert.is(after.take([task(101, key(1))]).publish.length, 1, 'and the call is published on its own');
});

test('adopt - run state round trip, and block numbers after every earlier block', () => {
  const dir = fresh();
  new Adoption(dir, false, [], 1); // makes nothing until something is journalled
  const state = { runId: 'abc', port: 4222, user: 'parsl', password: 'p', serverPid: 12, blocks: ['0', '1', '7'] };
  writeRunState(work.path, state);
  assert.equal(readRunState(work.path), state);
  assert.is(nextBlockNumber(state.blocks), 8);
  assert.is(readRunState(dir), undefined);
});

test.run();

// The compact form of the DFK's monitoring events: what goes in comes out, in order, across chunks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CompactBatchBuilder, decodeBatch, transferList } from '../src/monitoring/compact.ts';
import type { MonitoringEvent } from '../src/monitoring/events.ts';
import { summarizeArguments } from '../src/monitoring/args-summary.ts';

test('compact - every kind of record decodes to its event, in order, over many chunks', () => {
  const builder = new CompactBatchBuilder('run-1');
  assert.is(builder.take(), undefined, 'nothing to take');
  const expected: MonitoringEvent[] = [];
  const time = 1_796_000_000_000.25;
  // Enough tasks to fill several chunks, and one record with many dependencies.
  for (let id = 0; id < 20_000; id++) {
    const depends = id === 7 ? Array.from({ length: 40_000 }, (_, i) => i) : id > 0 ? [id - 1] : [];
    builder.submitted(id, time, 'app', id % 2 === 0, id % 3 === 0 ? `(${id})` : undefined, depends);
    expected.push(
      { type: 'task-submitted', runId: 'run-1', taskId: id, time, funcName: 'app', memoize: id % 2 === 0, argsSummary: id % 3 === 0 ? `(${id})` : undefined, depends },
      { type: 'task-state', runId: 'run-1', taskId: id, tryId: 0, time, state: 'pending' },
    );
    // One record each: a state and its try's record of the same moment.
    builder.launched(id, 0, time + 1, 'threads');
    expected.push(
      { type: 'task-state', runId: 'run-1', taskId: id, tryId: 0, time: time + 1, state: 'launched' },
      { type: 'try-launched', runId: 'run-1', taskId: id, tryId: 0, time: time + 1, executor: 'threads' },
    );
    builder.running(id, 0, time + 2);
    expected.push(
      { type: 'task-state', runId: 'run-1', taskId: id, tryId: 0, time: time + 2, state: 'running' },
      { type: 'try-running', runId: 'run-1', taskId: id, tryId: 0, time: time + 2 },
    );
    builder.returned(id, 1, time + 3);
    expected.push(
      { type: 'try-returned', runId: 'run-1', taskId: id, tryId: 1, time: time + 3 },
      { type: 'task-state', runId: 'run-1', taskId: id, tryId: 1, time: time + 3, state: 'exec_done' },
    );
    builder.state(id, 1, time + 4, 'fail_retryable');
    expected.push({ type: 'task-state', runId: 'run-1', taskId: id, tryId: 1, time: time + 4, state: 'fail_retryable' });
    if (id % 1000 === 0) {
      const end: MonitoringEvent = { type: 'workflow-end', runId: 'run-1', time, tasksCompleted: id };
      builder.event(end);
      expected.push(end);
    }
  }
  const batch = builder.take()!;
  assert.ok(batch.chunks.length > 3, `several chunks (${batch.chunks.length})`);
  assert.is(transferList(batch).length, batch.chunks.length);
  const got: MonitoringEvent[] = [];
  decodeBatch(batch, (e) => got.push(e));
  assert.equal(got, expected);
  assert.ok(builder.empty, 'the builder starts again');
  // A small batch after a large one.
  builder.state(1, 0, time, 'exec_done');
  const small: MonitoringEvent[] = [];
  decodeBatch(builder.take()!, (e) => small.push(e));
  assert.equal(small, [{ type: 'task-state', runId: 'run-1', taskId: 1, tryId: 0, time, state: 'exec_done' }]);
});

test('compact - a call of numbers alone gets the summary summarizeArguments writes, across chunks, with its dependencies', () => {
  const builder = new CompactBatchBuilder('run-1');
  const calls: number[][] = [[], [7], [-0, 2.5, -1e-7], [Number.NaN, Infinity, -Infinity, 1e21, Number.MAX_VALUE, Number.MIN_VALUE]];
  const expected: MonitoringEvent[] = [];
  // Enough records to cross a chunk's end, so that a record's numbers never straddle two.
  for (let id = 0; id < 40_000; id++) {
    const args = calls[id % calls.length]!;
    const depends = id % 5 === 0 ? [id - 1, id - 2] : [];
    builder.submittedNumbers(id, 1000, 'sweep', false, args, depends);
    expected.push(
      { type: 'task-submitted', runId: 'run-1', taskId: id, time: 1000, funcName: 'sweep', memoize: false, argsSummary: summarizeArguments(args, -1), depends },
      { type: 'task-state', runId: 'run-1', taskId: id, tryId: 0, time: 1000, state: 'pending' },
    );
    builder.state(id, 0, 1001, 'exec_done');
    expected.push({ type: 'task-state', runId: 'run-1', taskId: id, tryId: 0, time: 1001, state: 'exec_done' });
  }
  const batch = builder.take()!;
  assert.ok(batch.chunks.length > 1, `several chunks (${batch.chunks.length})`);
  assert.is(batch.strings.length, 2, 'only the app and state names travel as strings');
  const got: MonitoringEvent[] = [];
  decodeBatch(batch, (e) => got.push(e));
  assert.equal(got, expected);
  assert.is((got[2 * 3] as { argsSummary: string }).argsSummary, '(0, 2.5, -1e-7)');
});

test('compact - a batch that does not decode says where', () => {
  assert.throws(() => decodeBatch({ runId: 'r', chunks: [new Float64Array([9, 1])], strings: [], events: [] }, () => {}), /op 9 at 0/);
});

test.run();

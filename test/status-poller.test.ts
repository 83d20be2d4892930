import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StatusPoller } from '../src/actors/htex/status-poller.ts';
import type { ExecutionProvider, JobStatus } from '../src/index.ts';

/** A provider that records its status calls (no scheduler needed to test the batching). */
function recordingProvider(calls: string[][], fail = false): ExecutionProvider {
  return {
    status: async (ids: string[]): Promise<JobStatus[]> => {
      calls.push(ids);
      if (fail) throw new Error('squeue failed');
      return ids.filter((id) => id !== 'gone').map((jobId) => ({ jobId, state: 'running' }));
    },
  } as unknown as ExecutionProvider;
}

test('status poller - questions in the same turn go to the scheduler as one call', async () => {
  const calls: string[][] = [];
  const poller = new StatusPoller(recordingProvider(calls));
  const answers = await Promise.all(['1', '2', '3', '2'].map((id) => poller.statusOf(id)));
  assert.equal(calls, [['1', '2', '3']]);
  assert.equal(answers.map((a) => a?.jobId), ['1', '2', '3', '2']);
  await poller.statusOf('4');
  assert.equal(calls.length, 2, 'a later question is a new call');
});

test('status poller - an unknown job gets undefined; a failed call rejects every question', async () => {
  const poller = new StatusPoller(recordingProvider([]));
  assert.is(await poller.statusOf('gone'), undefined);
  const failing = new StatusPoller(recordingProvider([], true));
  const results = await Promise.allSettled([failing.statusOf('a'), failing.statusOf('b')]);
  assert.ok(results.every((r) => r.status === 'rejected'));
});

test.run();

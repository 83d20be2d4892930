// Draining a block, end to end and piece by piece: the pull loop hands back what a pull under
// way brings after the block stopped, and a block cancelled at the end of its drain period
// fails what it still held instead of leaving it hanging.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JsMsg } from '@nats-io/jetstream';
import { app, clear, Config, dfk, HighThroughputExecutor, load, LocalProvider } from '../src/index.ts';
import { connectNats, htexManager, NatsServer, send, subjectsFor } from '../src/internal.ts';
import { BLOCK_CONSUMER } from '../src/nats/protocol.ts';
import { PullBudget } from '../src/block/pull-budget.ts';
import { pullBatches } from '../src/block/pull-loop.ts';
import { deadline, rejection, tempDir, waitFor } from './helpers.ts';

test.after.each(async () => {
  await clear();
});

test('drain - a pull under way when a block stops hands its batch back at once, not after the ack wait', async () => {
  const server = await NatsServer.start();
  const nc = await connectNats({ servers: server.url }, 'pull-loop-test');
  try {
    const subjects = subjectsFor('drainrun', 'htex');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: subjects.taskStream, subjects: [subjects.tasks], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
    await jsm.consumers.add(subjects.taskStream, { durable_name: BLOCK_CONSUMER, ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000 });
    const got: JsMsg[] = [];
    const stop = pullBatches(jetstream(nc), subjects, new PullBudget(1), (msg) => got.push(msg), () => {});
    // The loop's pull waits at the server: what is published now is delivered to it.
    await deadline(waitFor(async () => (await jsm.consumers.info(subjects.taskStream, BLOCK_CONSUMER)).num_waiting >= 1, 'a pull waiting'));
    const stopping = stop();
    await jetstream(nc).publish(subjects.tasks, new Uint8Array([1]));
    await deadline(stopping, 10_000, 'the pull loop to end');
    assert.is(got.length, 0, 'nothing handed to a block that stopped');
    // Another block gets it now; had the stopped block kept it, only after the 30 s ack wait.
    const consumer = await jetstream(nc).consumers.get(subjects.taskStream, BLOCK_CONSUMER);
    const again = await consumer.fetch({ max_messages: 1, expires: 10_000 });
    const next: JsMsg[] = [];
    for await (const msg of again) next.push(msg);
    assert.is(next.length, 1, 'the batch is back in the work queue for another block');
    assert.ok(next[0]!.redelivered, 'it is the batch the stopped block was given');
  } finally {
    await nc.close();
    await server.stop();
  }
});

/** Writes `<dir>/started-<i>`, then waits for `<dir>/release`. */
const held = app(async (dir: string, i: number) => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  fs.writeFileSync(path.join(dir, `started-${i}`), '');
  while (!fs.existsSync(path.join(dir, 'release'))) await new Promise((resolve) => setTimeout(resolve, 20));
  return i;
});

test('drain - a block cancelled at the end of its drain period fails what it still held with ManagerLost', async () => {
  const dir = tempDir();
  try {
    load(
      new Config({
        executors: [
          new HighThroughputExecutor({
            provider: new LocalProvider({ initBlocks: 1, minBlocks: 0, maxBlocks: 1 }),
            maxWorkersPerNode: 1,
            heartbeatPeriod: 300,
            heartbeatThreshold: 5_000,
            drainPeriod: 500,
          }),
        ],
        strategy: 'none',
      }),
    );
    const manager = htexManager(dfk(), 'htex');
    const stuck = held(dir.path, 0);
    await deadline(waitFor(() => manager.blocks()[0]?.held === 1, 'the block to hold the task'));
    // What the strategy sends when it scales a block in.
    send(dfk().executorManagers.get('htex') as never, { type: 'scale', decision: { scaleOut: 0, scaleIn: ['0'] } } as never);
    const error = await rejection(deadline(stuck, 30_000, 'the held task to fail'), (e) => e.name === 'ManagerLost');
    assert.match(error.message, 'did not finish draining');
    assert.is(manager.blocks()[0]!.phase, 'cancelled');
  } finally {
    execFileSync('touch', [join(dir.path, 'release')]);
    await clear();
    dir.remove();
  }
});

test.run();

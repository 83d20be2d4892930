/**
 * Tasks sent ahead of their dependency on a HighThroughputExecutor (src/actors/htex/followers.ts):
 * a chain called in one go travels as one batch and runs on one worker of a block, each link sent
 * before the one it depends on ended; a follower published later goes to the block that holds its
 * dependency; a failed dependency's follower never runs; a block killed under a chain loses nothing.
 * Real nats-server and LocalProvider blocks.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, clear, Config, dfk, HighThroughputExecutor, load, LocalProvider, waitForCurrentTasks } from '../src/index.ts';
import { htexManager } from '../src/internal.ts';
import { deadline, rejection, tempDir, waitFor } from './helpers.ts';

const work = tempDir();

function htex(blocks: number): HighThroughputExecutor {
  return new HighThroughputExecutor({
    provider: new LocalProvider({ initBlocks: blocks, minBlocks: 0, maxBlocks: blocks }),
    maxWorkersPerNode: 2,
    heartbeatPeriod: 300,
    heartbeatThreshold: 2_000,
  });
}

test.after.each(async () => {
  await deadline(waitForCurrentTasks(), 60_000, 'outstanding tasks');
  assert.is(dfk().tasksOutstanding, 0, 'no task is left outstanding');
  await clear();
});
test.after(() => work.remove());

const inc = app((x: number) => x + 1);
/** Runs until `path` exists (the test creates it once it has seen what it wants to see). */
const waitForFile = app(async (path: string, x: number) => {
  const fs = await import('node:fs');
  while (!fs.existsSync(path)) await new Promise((resolve) => setTimeout(resolve, 10));
  return x;
});
/** Writes a file named after its argument, so that a test can tell it never ran. */
const touch = app(async (x: number, path: string) => {
  const fs = await import('node:fs');
  fs.writeFileSync(path, String(x));
  return x;
});

test('htex send ahead - a chain called at once gives the right value, in order, each link launched before the one before it ended', async () => {
  load(new Config({ executors: [htex(2)] }));
  const go = join(work.path, 'go-chain');
  const head = waitForFile(go, 0);
  const futures = [inc(head)];
  for (let i = 1; i < 300; i++) futures.push(inc(futures[i - 1]!));
  await deadline(waitFor(() => head.state === 'running', 'the head of the chain to run'));
  assert.ok(futures.every((f) => f.state === 'launched'), 'every link is launched while the head runs');
  const order: number[] = [];
  futures.forEach((f, i) => void f.then(() => order.push(i)));
  writeFileSync(go, '');
  assert.is(await deadline(futures[299]!, 120_000), 300);
  await deadline(Promise.all(futures));
  assert.equal(order, [...order].sort((a, b) => a - b));
  assert.ok(futures.every((f) => f.state === 'exec_done'));
});

test('htex send ahead - a follower called after its dependency started goes to the block that holds it', async () => {
  load(new Config({ executors: [htex(2)] }));
  const go = join(work.path, 'go-later');
  const first = waitForFile(go, 41);
  const manager = htexManager(dfk(), 'htex');
  await deadline(waitFor(() => first.state === 'running' && manager.blocks().some((b) => b.held === 1), 'a block to run the first task'));
  const second = inc(first);
  // Launched while its dependency runs, and held by the same block.
  await deadline(waitFor(() => manager.blocks().reduce((n, b) => n + b.held, 0) === 2, 'the follower at a block'));
  assert.is(second.state, 'launched');
  assert.ok(manager.blocks().some((b) => b.held === 2), 'both on one block');
  writeFileSync(go, '');
  assert.is(await deadline(second, 60_000), 42);
});

test('htex send ahead - a follower of a dependency that fails never runs and fails with DependencyError', async () => {
  load(new Config({ executors: [htex(1)] }));
  const marker = join(work.path, 'dependent-ran');
  const boom = app((): number => {
    throw new Error('boom');
  })();
  const dependent = touch(boom, marker);
  await rejection(deadline(boom, 60_000), (e) => e.message === 'boom');
  await rejection(deadline(dependent, 60_000), (e) => e.name === 'DependencyError');
  assert.is(dependent.state, 'dep_fail');
  assert.not.ok(existsSync(marker));
});

test('htex send ahead - kill -9 of the block under a chain: every link ends with its value', async () => {
  load(new Config({ executors: [htex(2)], retries: 2 }));
  const go = join(work.path, 'go-kill');
  const head = waitForFile(go, 0);
  const futures = [inc(head)];
  for (let i = 1; i < 50; i++) futures.push(inc(futures[i - 1]!));
  const manager = htexManager(dfk(), 'htex');
  await deadline(waitFor(() => manager.blocks().some((b) => b.held > 1 && b.pid !== undefined), 'a block holding the chain'));
  const victim = manager.blocks().find((b) => b.held > 1)!;
  process.kill(victim.pid!, 'SIGKILL');
  await deadline(waitFor(() => !manager.blocks().find((b) => b.blockId === victim.blockId)!.live, 'the block declared lost'));
  writeFileSync(go, '');
  const values = await deadline(Promise.all(futures), 120_000);
  assert.equal(values, Array.from({ length: 50 }, (_, i) => i + 1));
});

test.run();

// Restarts that clean up: a crashed HTEX executor manager or block actor is restarted, every
// task completes, and nothing of the crashed state is left (nats-server, block processes,
// jobs, NATS connections), counted with ps and the server's own monitoring endpoint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { app, clear, Config, dfk, HighThroughputExecutor, load, LocalProvider } from '../src/index.ts';
import { htexManager, NatsServer, send } from '../src/internal.ts';
import { deadline, processAlive, tempDir, waitFor } from './helpers.ts';

const AUTH = { user: 'parsl', password: 'restart-secret' };

test.after.each(async () => {
  await clear();
});

/** Writes `<dir>/started-<i>`, then waits for `<dir>/release`: the test knows it runs and says when to end. */
const held = app(async (dir: string, i: number) => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  fs.writeFileSync(path.join(dir, `started-${i}-${process.pid}`), '');
  while (!fs.existsSync(path.join(dir, 'release'))) await new Promise((resolve) => setTimeout(resolve, 20));
  return i;
});

function startedCount(dir: string): number {
  return readdirSync(dir).filter((f) => f.startsWith('started-')).length;
}

function release(dir: string): void {
  execFileSync('touch', [join(dir, 'release')]);
}

/** Processes whose command line has every one of `words`. */
function processesWith(...words: string[]): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => words.every((w) => line.includes(w)) && !line.includes('ps -eo'))
    .map((line) => Number(line.trim().split(/\s+/)[0]))
    .filter((pid) => processAlive(pid));
}

/** nats-server processes started by this test process. */
function ourNatsServers(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes('nats-server'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/** The run id in an executor's subjects (`parsl.<run>.<label>.tasks`). */
function runOf(manager: ReturnType<typeof htexManager>): string {
  return manager.subjects.tasks.split('.')[1]!;
}

function htex(label: string, nats?: { servers: string; user: string; password: string }): HighThroughputExecutor {
  return new HighThroughputExecutor({
    label,
    provider: new LocalProvider({ initBlocks: 1, minBlocks: 0, maxBlocks: 1 }),
    maxWorkersPerNode: 2,
    heartbeatPeriod: 300,
    heartbeatThreshold: 5_000,
    ...(nats ? { nats } : {}),
  });
}

/** Crashes an actor: a message its `receive` cannot handle makes it throw. */
function crash(ref: unknown, message: unknown): void {
  send(ref as never, message as never);
}

test('restarts - a crashed HTEX manager is restarted: every task completes, no second nats-server, block or job is left', async () => {
  const dir = tempDir();
  try {
    load(new Config({ executors: [htex('crashy')] }));
    const before = htexManager(dfk(), 'crashy');
    const futures = Array.from({ length: 6 }, (_, i) => held(dir.path, i));
    await deadline(waitFor(() => startedCount(dir.path) >= 2, 'two tasks running on the first block'));
    const oldRun = runOf(before);
    assert.is(ourNatsServers().length, 1, 'one embedded server before the crash');
    const oldServer = ourNatsServers()[0];
    assert.is(processesWith('--run', oldRun).length, 1, 'one block process before the crash');
    crash(dfk().executorManagers.get('crashy'), { type: 'scale', decision: null });
    await deadline(waitFor(() => htexManager(dfk(), 'crashy') !== before, 'the manager to be restarted'));
    const after = htexManager(dfk(), 'crashy');
    await deadline(waitFor(() => after.blocks()[0]?.phase === 'registered', 'a block of the new run to register'));
    release(dir.path);
    assert.equal(await deadline(Promise.all(futures), 60_000), [0, 1, 2, 3, 4, 5], 'every task completes');
    assert.is(dfk().executorRestarts, 1);
    await deadline(waitFor(() => processesWith('--run', oldRun).length === 0, 'the old block process to be gone'));
    const servers = ourNatsServers();
    assert.is(servers.length, 1, `one embedded server after the restart (${servers.join(', ')})`);
    assert.is.not(servers[0], oldServer, 'the old server was stopped, a new one started');
    assert.is(processesWith('--run', runOf(after)).length, 1, 'one block process of the new run');
    assert.is(after.blocks().length, 1, 'one job of the new run');
  } finally {
    await clear();
    dir.remove();
  }
});

test('restarts - on the user\'s server, a restarted HTEX manager leaves no NATS connection of the old run', async () => {
  const server = await NatsServer.start({ auth: AUTH, extraConfig: 'http: "127.0.0.1:-1"' });
  const dir = tempDir();
  try {
    const ports = JSON.parse(readFileSync(join(server.dir, `nats-server_${server.pid}.ports`), 'utf8')) as { monitoring: string[] };
    const connections = async (): Promise<string[]> => {
      const connz = (await (await fetch(`${ports.monitoring[0]}/connz`)).json()) as { connections?: Array<{ name?: string }> };
      return (connz.connections ?? []).map((c) => c.name ?? '');
    };
    load(new Config({ executors: [htex('shared', { servers: server.url, ...AUTH })] }));
    const before = htexManager(dfk(), 'shared');
    const futures = Array.from({ length: 4 }, (_, i) => held(dir.path, i));
    await deadline(waitFor(() => startedCount(dir.path) >= 1, 'a task running'));
    const oldRun = runOf(before);
    assert.ok((await connections()).some((n) => n.includes(oldRun)), 'the old run is connected before the crash');
    crash(dfk().executorManagers.get('shared'), { type: 'scale', decision: null });
    await deadline(waitFor(() => htexManager(dfk(), 'shared') !== before, 'the manager to be restarted'));
    const after = htexManager(dfk(), 'shared');
    await deadline(waitFor(() => after.blocks()[0]?.phase === 'registered', 'a block of the new run'));
    release(dir.path);
    assert.equal(await deadline(Promise.all(futures), 60_000), [0, 1, 2, 3]);
    await deadline(waitFor(async () => (await connections()).length === 2, 'two connections: the DFK and one block'));
    const names = await connections();
    assert.ok(!names.some((n) => n.includes(oldRun)), `no connection of the old run (${names.join('; ')})`);
    assert.ok(names.some((n) => n.includes(runOf(after))), 'the new run is connected');
  } finally {
    await clear();
    await server.stop();
    dir.remove();
  }
});

test('restarts - a crashed block actor takes its job over: tasks complete on the same block, no second job', async () => {
  const dir = tempDir();
  try {
    load(new Config({ executors: [htex('blocky')] }));
    const manager = htexManager(dfk(), 'blocky');
    const futures = Array.from({ length: 4 }, (_, i) => held(dir.path, i));
    await deadline(waitFor(() => startedCount(dir.path) >= 2, 'two tasks running on the block'));
    const [block] = manager.blocks();
    assert.ok(block?.pid, 'a registered block');
    crash(manager.blockActor('0'), { type: 'job-state', status: null });
    // The restarted actor handles messages again: a heartbeat keeps the block registered.
    await deadline(waitFor(() => manager.blocks()[0]?.phase === 'registered', 'the block to stay registered'));
    release(dir.path);
    assert.equal(await deadline(Promise.all(futures), 60_000), [0, 1, 2, 3], 'every task completes');
    assert.is(manager.blocks().length, 1, 'no second block');
    assert.is(manager.blocks()[0]!.pid, block.pid, 'the same block manager process');
    assert.ok(processAlive(block.pid), 'the block runs on');
    assert.is(processesWith('--run', runOf(manager)).length, 1, 'one block process: no second job');
    assert.ok(existsSync(dir.path));
  } finally {
    await clear();
    dir.remove();
  }
});

test.run();

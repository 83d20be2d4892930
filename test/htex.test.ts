// HighThroughputExecutor against real nats-server processes (started here, on loopback ports
// they choose) and block managers started by a LocalProvider as separate processes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { app, clear, Config, dfk, HighThroughputExecutor, load, LocalProvider, waitForCurrentTasks } from '../src/index.ts';
import { connectNats, encodeBinary, findNatsServer, htexManager, NATS_ENV, NatsServer, PROTOCOL_VERSION } from '../src/internal.ts';
import { deadline, rejection, tempDir, waitFor, processAlive } from './helpers.ts';

const work = tempDir();
const AUTH = { user: 'parsl', password: 'test-secret-1' };

function htex(options: ConstructorParameters<typeof HighThroughputExecutor>[0] = {}): HighThroughputExecutor {
  return new HighThroughputExecutor({
    provider: new LocalProvider({ initBlocks: 2, minBlocks: 0, maxBlocks: 2 }),
    maxWorkersPerNode: 2,
    heartbeatPeriod: 300,
    heartbeatThreshold: 2_000,
    ...options,
  });
}


test.after.each(async () => {
  let loaded = true;
  try {
    dfk();
  } catch {
    loaded = false; // The test cleared its own kernel.
  }
  try {
    if (loaded) await deadline(waitForCurrentTasks(), 60_000, 'outstanding tasks');
  } finally {
    await clear();
  }
});
test.after(() => work.remove());

const square = app((x: number) => x * x);
const slowSquare = app(async (x: number) => {
  await new Promise((resolve) => setTimeout(resolve, 20));
  return x * x;
});

test('htex - 10,000 tasks over two blocks give correct results', async () => {
  load(new Config({ executors: [htex()] }));
  const futures = Array.from({ length: 10_000 }, (_, i) => square(i));
  const results = await deadline(Promise.all(futures), 120_000);
  assert.ok(results.every((v, i) => v === i * i), 'every result is right');
  const blocks = htexManager(dfk(), 'htex').blocks();
  assert.is(blocks.length, 2);
  assert.ok(blocks.every((b) => b.live && b.pid !== undefined), 'both blocks registered');
});

test('htex - a chain of small batches goes straight to the block, not through the work queue', async () => {
  load(new Config({ executors: [htex({ provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }) })] }));
  assert.is(await deadline(square(2)), 4);
  const manager = htexManager(dfk(), 'htex');
  await deadline(waitFor(() => manager.blocks()[0]?.pid !== undefined, 'registration'));
  const nc = await connectNats(manager.blockConnection!, 'observer');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const jsm = await jetstreamManager(nc);
  const before = (await jsm.streams.info(manager.subjects.taskStream)).state.last_seq;
  const inc = app((x: number) => x + 1);
  let f = inc(0);
  for (let i = 0; i < 49; i++) f = inc(f);
  assert.is(await deadline(f), 50);
  const after = (await jsm.streams.info(manager.subjects.taskStream)).state.last_seq;
  await nc.close();
  assert.ok(after - before < 10, `at most a few of 50 links went through the work queue (${after - before})`);
});

test('htex - dependencies, bash apps and errors work as on threads', async () => {
  load(new Config({ executors: [htex({ provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }) })] }));
  const add = app((a: number, b: number) => a + b);
  assert.is(await deadline(add(square(3), square(4))), 25);
  const boom = app(() => {
    throw new RangeError('remote');
  });
  const error = await rejection(deadline(boom()));
  assert.instance(error, RangeError);
  assert.is(error.message, 'remote');
  const { bashApp } = await import('../src/index.ts');
  const out = join(work.path, 'htex-bash.out');
  const echo = bashApp((_o: { stdout: string }) => 'echo from-a-block');
  assert.is(await deadline(echo({ stdout: out })), 0);
  const { readFileSync } = await import('node:fs');
  assert.is(readFileSync(out, 'utf8'), 'from-a-block\n');
  const value = new Map([['k', Buffer.from('v')]]);
  const echoValue = app((v: unknown) => v);
  const back = (await deadline(echoValue(value))) as Map<string, Buffer>;
  assert.ok(Buffer.isBuffer(back.get('k')), 'values keep their types across NATS');
});

test('htex - kill -9 of a block manager mid-run: every task completes, retried', async () => {
  load(new Config({ executors: [htex()], retries: 3 }));
  const futures = Array.from({ length: 400 }, (_, i) => slowSquare(i));
  let done = 0;
  for (const f of futures) f.then(() => done++, () => {});
  await deadline(waitFor(() => done >= 60, '60 tasks done'));
  const victim = htexManager(dfk(), 'htex').blocks().find((b) => b.pid !== undefined);
  assert.ok(victim?.pid, 'a registered block to kill');
  process.kill(victim.pid, 'SIGKILL');
  const results = await deadline(Promise.all(futures), 120_000);
  assert.ok(results.every((v, i) => v === i * i), 'every result is right after the kill');
  await deadline(waitFor(() => !htexManager(dfk(), 'htex').blocks().find((b) => b.blockId === victim.blockId)!.live, 'the block declared lost'));
});

test('htex - a lost block fails its tasks with ManagerLost when no retries are left', async () => {
  load(new Config({ executors: [htex({ provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }) })] }));
  const hang = app(async () => new Promise((resolve) => setTimeout(resolve, 60_000)));
  const stuck = hang();
  // The executor knows the block holds the task (its claim arrived, or the block took it straight):
  // only then does losing the block fail it. Before that, JetStream hands it to another block.
  await deadline(waitFor(() => htexManager(dfk(), 'htex').blocks()[0]?.held === 1, 'the block to hold the task'));
  process.kill(htexManager(dfk(), 'htex').blocks()[0]!.pid!, 'SIGKILL');
  const error = await rejection(deadline(stuck, 30_000), (e) => e.name === 'ManagerLost');
  assert.match(error.message, 'block manager 0 was lost');
});

test('htex - a restart of the NATS server mid-run: the run completes', async () => {
  const server = await NatsServer.start({ auth: AUTH });
  try {
    load(new Config({ executors: [htex({ nats: { servers: server.url, ...AUTH } })], retries: 2 }));
    const futures = Array.from({ length: 600 }, (_, i) => slowSquare(i));
    let done = 0;
    for (const f of futures) f.then(() => done++, () => {});
    await deadline(waitFor(() => done >= 50, '50 tasks done'));
    await server.restart(200);
    const results = await deadline(Promise.all(futures), 120_000);
    assert.ok(results.every((v, i) => v === i * i), 'every result is right after the restart');
  } finally {
    await clear();
    await server.stop();
  }
});

test('htex - a worker thread crash inside a block: that task is retried, the block keeps working', async () => {
  load(new Config({ executors: [htex({ provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }) })], retries: 1 }));
  const marker = join(work.path, 'block-crash-marker');
  const crashOnce = app(async (path: string) => {
    const fs = await import('node:fs');
    if (!fs.existsSync(path)) {
      fs.writeFileSync(path, 'x');
      process.exit(9);
    }
    return 'recovered';
  });
  const others = Array.from({ length: 50 }, (_, i) => square(i));
  assert.is(await deadline(crashOnce(marker)), 'recovered');
  assert.equal(await deadline(Promise.all(others)), Array.from({ length: 50 }, (_, i) => i * i));
  assert.ok(htexManager(dfk(), 'htex').blocks()[0]!.live, 'the block is still the same live block');
});

test('htex - garbage and wrong-schema messages on the task subject are rejected without killing the block', async () => {
  const server = await NatsServer.start({ auth: AUTH });
  try {
    load(new Config({ executors: [htex({ nats: { servers: server.url, ...AUTH }, provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }) })] }));
    assert.is(await deadline(square(2)), 4);
    const manager = htexManager(dfk(), 'htex');
    const nc = await connectNats({ servers: server.url, ...AUTH }, 'intruder-with-credential');
    const js = jetstream(nc);
    await js.publish(manager.subjects.tasks, new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    await js.publish(manager.subjects.tasks, encodeBinary({ v: PROTOCOL_VERSION, kind: 'tasks', tasks: 'not an array' }));
    await js.publish(manager.subjects.tasks, encodeBinary({ v: 999, kind: 'tasks', functions: [], tasks: [] }));
    // The same on the subject where the DFK offers small batches straight to a block.
    const answer = await nc.request(manager.subjects.blockTasks('0'), new Uint8Array([1, 2, 3]), { timeout: 5_000 }).finally(() => nc.close());
    assert.is(JSON.parse(new TextDecoder().decode(answer.data)), 'rejected');
    const results = await deadline(Promise.all(Array.from({ length: 20 }, (_, i) => square(i))));
    assert.equal(results, Array.from({ length: 20 }, (_, i) => i * i));
    assert.ok(manager.blocks()[0]!.live, 'the block survived');
    const pid = manager.blocks()[0]!.pid!;
    process.kill(pid, 0); // throws if the block manager died
  } finally {
    await clear();
    await server.stop();
  }
});

test('security - the embedded server refuses a client without the run credential', async () => {
  load(new Config({ executors: [htex({ provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }) })] }));
  assert.is(await deadline(square(3)), 9);
  const manager = htexManager(dfk(), 'htex');
  const connection = manager.blockConnection!;
  assert.ok(connection.user && connection.password, 'a generated credential');
  const servers = connection.servers;
  await rejection(connect({ servers, maxReconnectAttempts: 0, reconnect: false }), (e) => /authoriz/i.test(String(e.message ?? e)));
  await rejection(connect({ servers, user: 'parsl', pass: 'guess', reconnect: false }), (e) => /authoriz/i.test(String(e.message ?? e)));
});

test('security - on the user\'s own server, a client without credentials cannot publish a task', async () => {
  const server = await NatsServer.start({ auth: AUTH });
  try {
    load(new Config({ executors: [htex({ nats: { servers: server.url, ...AUTH }, provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }) })] }));
    assert.is(await deadline(square(5)), 25);
    await rejection(connect({ servers: server.url, reconnect: false }), (e) => /authoriz/i.test(String(e.message ?? e)));
  } finally {
    await clear();
    await server.stop();
  }
});

test('blocks - a block of another version is refused with a clear error', async () => {
  const server = await NatsServer.start({ auth: AUTH });
  try {
    load(new Config({ executors: [htex({ nats: { servers: server.url, ...AUTH }, provider: new LocalProvider({ initBlocks: 0, maxBlocks: 1 }) })] }));
    const manager = htexManager(dfk(), 'htex');
    await deadline(waitFor(() => manager.blockConnection !== undefined, 'the executor to start'));
    const { code, stderr } = await runBlock(manager, ['--block-id', 'stranger', '--report-version', '0.0.0-old'], { [NATS_ENV]: JSON.stringify(manager.blockConnection) });
    assert.is(code, 3);
    assert.match(stderr, 'registration refused: version mismatch');
    assert.match(stderr, 'runs parsl-ts 0.0.0-old');
  } finally {
    await clear();
    await server.stop();
  }
});

test('blocks - a block exits on its own when the DFK is gone for heartbeatThreshold', async () => {
  const server = await NatsServer.start({ auth: AUTH });
  try {
    load(new Config({ executors: [htex({ nats: { servers: server.url, ...AUTH }, provider: new LocalProvider({ initBlocks: 0, maxBlocks: 1 }) })] }));
    const manager = htexManager(dfk(), 'htex');
    await deadline(waitFor(() => manager.blockConnection !== undefined, 'the executor to start'));
    const env = { [NATS_ENV]: JSON.stringify(manager.blockConnection) };
    let log = '';
    const block = runBlock(manager, ['--block-id', 'orphan', '--heartbeat-period', '200', '--heartbeat-threshold', '1500'], env, (chunk) => (log += chunk));
    await deadline(waitFor(() => log.includes('registered with the DFK'), 'the block to register'));
    await clear(); // the DFK goes away: its heartbeats stop
    const { code, stderr } = await deadline(block, 30_000, 'the orphaned block to exit');
    assert.is(code, 4);
    assert.match(stderr, 'no heartbeat from the DFK');
  } finally {
    await clear();
    await server.stop();
  }
});

test('blocks - a drained block finishes what it holds and exits; the strategy replaces it for new work', async () => {
  load(
    new Config({
      executors: [htex({ provider: new LocalProvider({ initBlocks: 1, minBlocks: 0, maxBlocks: 1 }), maxWorkersPerNode: 1 })],
      strategyPeriod: 200,
    }),
  );
  const manager = htexManager(dfk(), 'htex');
  const dir = join(work.path, 'drain');
  mkdirSync(dir);
  // Each task says it runs (a file), then waits to be released (another file).
  const holdUntilReleased = app(async (where: string, x: number) => {
    const fs = await import('node:fs');
    fs.writeFileSync(`${where}/started-${x}`, '');
    while (!fs.existsSync(`${where}/release`)) await new Promise((resolve) => setTimeout(resolve, 20));
    return x * x;
  });
  const held = Array.from({ length: 4 }, (_, i) => holdUntilReleased(dir, i));
  await deadline(waitFor(() => readdirSync(dir).length > 0, 'a task running on the block'));
  const pid = manager.blocks()[0]!.pid!;
  const nc = await connectNats(manager.blockConnection!, 'operator');
  nc.publish(manager.subjects.blockControl('0'), new TextEncoder().encode(JSON.stringify({ type: 'drain' })));
  await nc.flush();
  await nc.close();
  writeFileSync(join(dir, 'release'), '');
  assert.equal(await deadline(Promise.all(held), 60_000), [0, 1, 4, 9], 'what it held is finished');
  await deadline(waitFor(() => !processAlive(pid), 'the drained block to exit'), 60_000);
  assert.is(await deadline(square(12), 60_000), 144, 'new work gets a new block');
  assert.ok(manager.blocks().length >= 2);
});


test('blocks - the block command needs its credential from the environment', async () => {
  const { code, stderr } = await runBlock(undefined, ['--block-id', 'x'], {});
  assert.is(code, 2);
  assert.match(stderr, `${NATS_ENV}`);
});

test('embedded server - a missing nats-server binary gives an error that says how to install it', () => {
  assert.throws(() => findNatsServer('nats-server-that-does-not-exist'), /apt-get install nats-server/);
});

test('config - HighThroughputExecutor options are validated with their paths', async () => {
  const { ConfigError } = await import('../src/index.ts');
  const bad = (options: unknown, pattern: string) =>
    assert.throws(
      () => new HighThroughputExecutor(options as never),
      (e: unknown) => e instanceof ConfigError && (e as Error).message.includes(pattern),
    );
  bad({ heartbeatPeriod: 1000, heartbeatThreshold: 500 }, 'HighThroughputExecutor.heartbeatThreshold: must be longer than heartbeatPeriod');
  bad({ nats: { user: 'a', password: 'b' } }, 'give nats.servers too');
  bad({ nats: { servers: 'nats://x', user: 'a' } }, "'user' and 'password' go together");
  bad({ nats: { servers: 'nats://x', token: 't', user: 'a', password: 'b' } }, 'mutually exclusive');
  bad({ maxWorkersPerNode: 0 }, 'HighThroughputExecutor.maxWorkersPerNode');
  bad({ provider: {} }, 'expected a provider');
  bad({ workers: 2 }, "unknown option 'workers'");
});

function runBlock(
  manager: ReturnType<typeof htexManager> | undefined,
  extra: string[],
  env: Record<string, string>,
  onStderr?: (chunk: string) => void,
): Promise<{ code: number | null; stderr: string }> {
  const args = ['bin/parsl-ts.js', 'block', '--run', 'r', '--label', 'htex', ...extra];
  if (manager) {
    // Same run and label as the executor, read from its subjects.
    const [, run, label] = manager.subjects.tasks.split('.');
    args.splice(2, 4, '--run', run!, '--label', label!);
  }
  const environment = { ...process.env };
  delete environment[NATS_ENV];
  const child = spawn(process.execPath, args, { env: { ...environment, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    onStderr?.(chunk);
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}


test.run();

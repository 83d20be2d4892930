// Nothing outlives its driver: a script that loaded a HighThroughputExecutor (embedded
// nats-server, a LocalProvider block) ends in each way a driver can end, and afterwards no
// nats-server, block process or delayed kill of that run is left, while its JetStream store
// stays on disk. Each driver is a real child process running test/fixtures/driver-exit.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { killCommand } from '../src/providers/background.ts';
import { deadline, waitFor } from './helpers.ts';

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  args: string;
}

/** Every live process (zombies, ended but not yet reaped, are not counted), from /proc. */
function processes(): Proc[] {
  const found: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(name), ppid: Number(ppid), pgid: Number(pgid), args });
    } catch {
      // It ended while we looked.
    }
  }
  return found;
}

/** What a run left running: anything of its server, its store, its block's process group, or a delayed kill of that group. */
function leftOf(run: Run): Proc[] {
  return processes().filter(
    (p) =>
      p.pid === run.serverPid ||
      p.args.includes(run.storeDir) ||
      p.pgid === run.blockPgid ||
      p.args.includes(`-- -${run.blockPgid}`),
  );
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  serverPid: number;
  storeDir: string;
  blockPgid: number;
}

const runs: Run[] = [];
/** Every driver started, so that one a failed test left running is killed at the end. */
const drivers: ChildProcess[] = [];

test.after(() => {
  for (const child of drivers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const run of runs) rmSync(run.storeDir, { recursive: true, force: true });
});

/**
 * Starts the fixture (under plain node, or under `parsl-ts run`), waits for its first result,
 * and finds its server and its block.
 */
async function startDriver(how: string, thresholdMs = 60_000, under: 'node' | 'parsl-ts run' = 'node'): Promise<Run> {
  const runner = under === 'node' ? ['--import', 'tsx'] : ['bin/parsl-ts.js', 'run'];
  const child = spawn(process.execPath, [...runner, 'test/fixtures/driver-exit.ts', how, String(thresholdMs)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  drivers.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  await deadline(waitFor(() => /^ready /m.test(out) || child.exitCode !== null, 'the first result'), 90_000);
  const ready = /^ready (.*)$/m.exec(out);
  assert.ok(ready, `the driver printed no ready line:\n${out}`);
  const { result, blocks } = JSON.parse(ready[1]!) as { result: number; blocks: number[] };
  assert.is(result, 9);
  const all = processes();
  const server = all.find((p) => p.ppid === child.pid && /nats-server/.test(p.args));
  assert.ok(server, 'the driver runs an embedded nats-server');
  const config = /-c (\S+)/.exec(server.args)![1]!;
  const block = all.find((p) => p.pid === blocks[0]);
  assert.ok(block, 'the block process runs');
  const run: Run = { child, output: () => out, exited, serverPid: server.pid, storeDir: dirname(config), blockPgid: block.pgid };
  runs.push(run);
  child.stdin!.end('go\n');
  return run;
}

/**
 * After the driver ended: nothing of the run is left, and its store is still on disk (unless
 * the script cleared the kernel itself: `clear()` ends a run for good).
 */
async function assertNothingLeft(run: Run, { storeKept = true, ms = 30_000 } = {}): Promise<void> {
  try {
    await deadline(
      waitFor(() => leftOf(run).length === 0, 'the run to leave nothing running', ms).catch((error: Error) => {
        throw new Error(`${error.message}:\n${leftOf(run).map((p) => `${p.pid} ${p.args}`).join('\n')}\n--- driver output:\n${run.output()}`);
      }),
      ms + 5_000,
    );
    if (storeKept) assert.ok(existsSync(join(run.storeDir, 'js')), `the JetStream store stays on disk (${run.storeDir})`);
  } finally {
    rmSync(run.storeDir, { recursive: true, force: true });
  }
}

test('driver exit - a script that is done without clear() exits, and takes its server and blocks along', async () => {
  const run = await startDriver('return');
  const { code } = await deadline(run.exited, 60_000, 'the driver exiting');
  assert.is(code, 0, run.output());
  await assertNothingLeft(run);
});

for (const [how, message] of [
  ['throw', 'driver-exit fixture: thrown'],
  ['reject', 'driver-exit fixture: rejected'],
] as const) {
  test(`driver exit - ${how}: printed as Node prints it, exit status 1, nothing left`, async () => {
    const run = await startDriver(how);
    const { code } = await deadline(run.exited, 60_000, 'the driver exiting');
    assert.is(code, 1, run.output());
    const out = run.output();
    assert.match(out, `Error: ${message}`);
    assert.match(out, /test\/fixtures\/driver-exit\.ts:\d+\n.*\n\s*\^/, 'Node points at the line of the error');
    assert.match(out, /Node\.js v\d+/);
    await assertNothingLeft(run);
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`driver exit - ${signal}: the driver dies of it after stopping its server and blocks`, async () => {
    const run = await startDriver('wait');
    run.child.kill(signal);
    const ended = await deadline(run.exited, 60_000, 'the driver exiting');
    assert.is(ended.signal, signal, run.output());
    await assertNothingLeft(run);
  });
}

for (const how of ['throw', 'wait'] as const) {
  test(`driver exit - under parsl-ts run, ${how === 'wait' ? 'SIGINT' : how}: nothing left, the store kept`, async () => {
    const run = await startDriver(how, 60_000, 'parsl-ts run');
    if (how === 'wait') run.child.kill('SIGINT');
    const { code } = await deadline(run.exited, 60_000, 'the driver exiting');
    assert.is(code, how === 'wait' ? 130 : 1, run.output());
    await assertNothingLeft(run);
  });
}

test('driver exit - kill -9: the server ends by its parent-death signal, the block by its heartbeat threshold', async () => {
  const run = await startDriver('wait', 2_000);
  run.child.kill('SIGKILL');
  assert.is((await deadline(run.exited, 10_000, 'the driver dying')).signal, 'SIGKILL');
  await assertNothingLeft(run);
});

test('driver exit - a script with its own uncaughtException handler keeps control', async () => {
  const run = await startDriver('own-handler');
  const { code } = await deadline(run.exited, 60_000, 'the driver exiting');
  assert.is(code, 3, run.output());
  assert.match(run.output(), 'the script handled: driver-exit fixture: for the script');
  assert.not.match(run.output(), 'Node.js v');
  await assertNothingLeft(run, { storeKept: false });
});

test('driver exit - the delayed SIGKILL of a cancelled job ends as soon as the job is gone', async () => {
  // A stand-in for startCommand's wrapper: a group leader whose arguments name its exit file.
  const exitFile = join(tmpdir(), `parsl-ts-driver-exit-${process.pid}.ec`);
  const job = spawn('bash', ['-c', 'sleep 600; :', exitFile], { detached: true, stdio: 'ignore' });
  const pgid = job.pid!;
  const gone = new Promise((resolve) => job.once('exit', resolve));
  assert.is(spawnSync('bash', ['-c', killCommand({ pid: pgid, exitFile })]).status, 0);
  await deadline(gone, 10_000, 'the job ending on SIGTERM');
  // It polls every 0.1 s; the SIGKILL it stands ready to send comes 5 s after the SIGTERM.
  await deadline(
    waitFor(() => !processes().some((p) => p.args.includes(`-- -${pgid}`)), 'the delayed kill to end', 3_000),
    5_000,
  );
});

test('driver exit - these tests leave no driver, server, block or store behind', () => {
  assert.is(runs.length, 9);
  for (const run of runs) {
    assert.equal(leftOf(run), []);
    assert.ok(!existsSync(run.storeDir));
  }
  assert.equal(processes().filter((p) => p.ppid === process.pid && p.args.includes('driver-exit')), []);
});

test.run();

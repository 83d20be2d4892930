/**
 * The helper process that starts bash apps' commands (src/worker/bash-spawner.ts): what a task
 * sees when it dies, that a new one takes over, and that it does not outlive its worker.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bashApp, BashHelperLost, clear, Config, load, ThreadPoolExecutor } from '../src/index.ts';
import { spawnBash } from '../src/worker/bash-spawner.ts';
import { deadline, processAlive, rejection, tempDir, waitFor } from './helpers.ts';

const work = tempDir();

test.before(() => {
  // One thread: every command comes from the same helper until it dies.
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
});
test.after(async () => {
  await clear();
  work.remove();
});

// The command's parent is the helper that forked it, which leads its own process group
// ($BASHPID: $PPID in a subshell is not updated).
const HELPER = 'b=$BASHPID; h=$(ps -o ppid= -p $b | tr -d " ")';

const writeHelperPid = bashApp((helper: string, file: string) => `${helper}; echo $h > ${file}`);
const killHelperOnly = bashApp((helper: string, file: string) => `${helper}; echo $b > ${file}; echo $h >> ${file}; kill -KILL $h; sleep 60`);
const killHelperGroup = bashApp(
  (helper: string, file: string) => `${helper}; echo $b > ${file}; kill -KILL -- -$h; sleep 60`,
);

function pidIn(file: string): number {
  return Number(readFileSync(file, 'utf8').split('\n')[0]);
}

test('bash helper - a helper killed while a command runs: the task fails with BashHelperLost, its command is killed, a new helper starts', async () => {
  const first = join(work.path, 'first');
  await deadline(writeHelperPid(HELPER, first));
  const helper = pidIn(first);
  const killed = join(work.path, 'killed');
  const error = await rejection(deadline(killHelperOnly(HELPER, killed)));
  assert.ok(error instanceof BashHelperLost, String(error));
  const [command, itsHelper] = readFileSync(killed, 'utf8').split('\n').map(Number);
  assert.is(itsHelper, helper, 'the command ran from the first helper');
  await waitFor(() => !processAlive(command), 'the command whose helper died to be killed');
  await waitFor(() => !processAlive(helper), 'the killed helper to be gone');
  const next = join(work.path, 'next');
  await deadline(writeHelperPid(HELPER, next));
  assert.is.not(pidIn(next), helper, 'a new helper');
});

test('bash helper - the helper\'s whole group killed: the task fails with BashHelperLost, its command is killed, the next one runs', async () => {
  const file = join(work.path, 'group');
  const error = await rejection(deadline(killHelperGroup(HELPER, file)));
  assert.ok(error instanceof BashHelperLost, String(error));
  assert.match(error.message, /bash helper process \(pid \d+\)/);
  const command = pidIn(file);
  await waitFor(() => !processAlive(command), 'the orphaned command to be killed');
  const after = join(work.path, 'after');
  await deadline(writeHelperPid(HELPER, after));
  assert.ok(processAlive(pidIn(after)));
});

test('bash helper - the helper ends with its worker', async () => {
  const file = join(work.path, 'last');
  await deadline(writeHelperPid(HELPER, file));
  const helper = pidIn(file);
  assert.ok(processAlive(helper));
  await clear();
  await waitFor(() => !processAlive(helper), 'the helper to exit after its worker thread ended');
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
});

test('bash helper - two commands at once from one thread run side by side, each from its own helper', async () => {
  // The first ends only once the second has run: one helper running one command at a time
  // would never start the second.
  const flag = join(work.path, 'flag');
  const pids = join(work.path, 'helpers');
  const helperOf = `ps -o ppid= -p $BASHPID | tr -d " " >> ${pids}`;
  const first = spawnBash(`${helperOf}; while [ ! -e ${flag} ]; do sleep 0.01; done`, work.path, '/dev/null', '/dev/null', () => {});
  const second = spawnBash(`${helperOf}; touch ${flag}`, work.path, '/dev/null', '/dev/null', () => {});
  assert.equal(await deadline(Promise.all([first, second])), [0, 0]);
  const [a, b] = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
  assert.is.not(a, b, 'two helpers');
});

test('bash helper - a process killed while its command runs: the helper kills the command and exits', async () => {
  const file = join(work.path, 'orphan');
  // A process of its own that runs one long command and is then killed with SIGKILL: no exit
  // handler of it runs, only its pipes close.
  const script = `import { spawnBash, bashHelperPid } from ${JSON.stringify(join(process.cwd(), 'src/worker/bash-spawner.ts'))};
spawnBash('echo $BASHPID > ${file}.tmp; mv ${file}.tmp ${file}; sleep 60', process.cwd(), '/dev/null', '/dev/null', () => {
  console.log(bashHelperPid());
});`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  await waitFor(() => printed.includes('\n') && existsSync(file), 'the command to start');
  const helper = Number(printed.trim());
  const command = pidIn(file);
  assert.ok(processAlive(helper) && processAlive(command));
  child.kill('SIGKILL');
  await waitFor(() => !processAlive(command), 'the command to be killed by its helper');
  await waitFor(() => !processAlive(helper), 'the helper to exit');
});

test.run();

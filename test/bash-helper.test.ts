/**
 * The helper process that starts bash apps' commands (src/worker/bash-spawner.ts): what a task
 * sees when it dies, that a new one takes over, and that it does not outlive its worker.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bashApp, BashHelperLost, clear, Config, load, ThreadPoolExecutor } from '../src/index.ts';
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

// The command's parent is the reporter the helper forked for it; the reporter's parent is the
// helper, which leads its own process group ($BASHPID: $PPID in a subshell is not updated).
const HELPER = 'b=$BASHPID; r=$(ps -o ppid= -p $b | tr -d " "); h=$(ps -o ppid= -p $r | tr -d " ")';

const writeHelperPid = bashApp((helper: string, file: string) => `${helper}; echo $h > ${file}`);
const killHelperOnly = bashApp((helper: string, file: string) => `${helper}; echo $h > ${file}; kill -KILL $h; sleep 0.2; echo finished >> ${file}`);
const killHelperGroup = bashApp(
  (helper: string, file: string) => `${helper}; echo $b > ${file}; kill -KILL -- -$h; sleep 60`,
);

function pidIn(file: string): number {
  return Number(readFileSync(file, 'utf8').split('\n')[0]);
}

test('bash helper - a helper killed while a command runs: the command still reports, a new helper starts', async () => {
  const first = join(work.path, 'first');
  await deadline(writeHelperPid(HELPER, first));
  const helper = pidIn(first);
  const killed = join(work.path, 'killed');
  assert.is(await deadline(killHelperOnly(HELPER, killed)), 0);
  assert.is(pidIn(killed), helper);
  assert.match(readFileSync(killed, 'utf8'), /finished/);
  await waitFor(() => !processAlive(helper), 'the killed helper to be gone');
  const next = join(work.path, 'next');
  await deadline(writeHelperPid(HELPER, next));
  assert.is.not(pidIn(next), helper, 'a new helper');
});

test('bash helper - helper and reporters killed: the task fails with BashHelperLost, its command is killed, the next one runs', async () => {
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

test.run();

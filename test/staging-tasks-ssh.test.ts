// Staging through the DFK over SSH (sshd on loopback): rsync in the task (in and out, on a
// thread worker and on an HTEX block), SFTP as separate tasks, a failed in-task stage-out.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  app,
  clear,
  Config,
  dfk,
  File,
  HighThroughputExecutor,
  HTTPInTaskStaging,
  load,
  LocalProvider,
  NoOpFileStaging,
  RSyncStaging,
  SFTPStaging,
  type SSHChannel,
  StagingError,
  ThreadPoolExecutor,
  type StagingProvider,
} from '../src/index.ts';
import { deadline, rejection, tempDir } from './helpers.ts';
import { TestHttpServer } from './support/http-server.ts';
import { Sshd } from './support/sshd.ts';

interface Ctx {
  sshd: Sshd;
  channel: SSHChannel;
  remote: string;
  server: TestHttpServer;
}
const s = suite<Ctx>('staging tasks over SSH');
const work = tempDir('parsl-ts-staging-tasks-ssh-');

s.before(async (c) => {
  c.sshd = await Sshd.start();
  c.server = await TestHttpServer.start();
  c.remote = join(work.path, 'remote');
  mkdirSync(c.remote);
  c.channel = c.sshd.channel(work.path);
  writeFileSync(join(c.remote, 'words.txt'), 'delta\nalpha\ncharlie\nbravo\n');
});
s.after(async (c) => {
  await c.channel.close();
  await c.sshd.stop();
  await c.server.stop();
  work.remove();
});
s.after.each(async () => {
  await clear();
});

function url(c: Ctx, scheme: 'sftp' | 'rsync', path: string): string {
  return `${scheme}://root@${c.sshd.host}:${c.sshd.port}${path}`;
}

/** Sorts the lines of its input into its output. */
const sortLines = app(async (o: { inputs: File[]; outputs: File[] }) => {
  const { readFile, writeFile } = await import('node:fs/promises');
  const lines = (await readFile(o.inputs[0]!.filepath, 'utf8')).trim().split('\n').sort();
  await writeFile(o.outputs[0]!.filepath, lines.join('\n') + '\n');
  return lines.length;
}, { name: 'sortLines' });

function threads(storageAccess: StagingProvider[], workingDir = join(work.path, 'threads')): Config {
  return new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2, storageAccess, workingDir })], runDir: work.path });
}

s('rsync - in the task: the thread worker pulls the input and delivers the output before the app ends', async (c) => {
  load(threads([new NoOpFileStaging(), new RSyncStaging({ channels: [c.channel] })]));
  const target = join(c.remote, 'rsync-out', 'sorted.txt');
  const future = sortLines({ inputs: [new File(url(c, 'rsync', join(c.remote, 'words.txt')))], outputs: [new File(url(c, 'rsync', target))] });
  assert.is(await deadline(future, 60_000), 4);
  // Delivered when the app's future resolved: in-task stage-out comes before the result.
  assert.is(readFileSync(target, 'utf8'), 'alpha\nbravo\ncharlie\ndelta\n');
  assert.is(future.outputs[0]!.stageOutFuture, undefined, 'no stage-out task');
  assert.is((await deadline(future.outputs[0]!, 10_000)).url, url(c, 'rsync', target));
  assert.equal(dfk().taskStateCounts, { exec_done: 1 });
});

s('sftp - separate tasks: a stage-in before the app, a stage-out after it', async (c) => {
  load(threads([new NoOpFileStaging(), new SFTPStaging({ channels: [c.channel] })]));
  const target = join(c.remote, 'sftp-out', 'sorted.txt');
  const future = sortLines({ inputs: [new File(url(c, 'sftp', join(c.remote, 'words.txt')))], outputs: [new File(url(c, 'sftp', target))] });
  const delivered = await deadline(future.outputs[0]!, 60_000);
  assert.is(delivered.url, url(c, 'sftp', target));
  assert.is(readFileSync(target, 'utf8'), 'alpha\nbravo\ncharlie\ndelta\n');
  assert.ok(future.outputs[0]!.stageOutFuture, 'a stage-out task delivered it');
  assert.equal(dfk().taskStateCounts, { exec_done: 3 });
});

s('rsync - a failed in-task stage-out fails the app with a StagingError naming the URL', async (c) => {
  load(threads([new NoOpFileStaging(), new RSyncStaging({ channels: [c.channel] })]));
  // A regular file where the output's directory should be: rsync cannot make it.
  writeFileSync(join(c.remote, 'blocker'), 'x');
  const target = url(c, 'rsync', join(c.remote, 'blocker', 'out.txt'));
  const future = sortLines({ inputs: [new File(url(c, 'rsync', join(c.remote, 'words.txt')))], outputs: [new File(target)] });
  const error = await rejection(deadline(future, 60_000));
  assert.instance(error, StagingError);
  assert.is(error.url, target);
  assert.is(error.direction, 'out');
  await rejection(deadline(future.outputs[0]!, 10_000), (e) => e === error);
});

s('sftp - a failed stage-out task fails the output DataFuture with its StagingError; the app itself succeeded', async (c) => {
  load(threads([new NoOpFileStaging(), new SFTPStaging({ channels: [c.channel] })]));
  writeFileSync(join(c.remote, 'sftp-blocker'), 'x');
  const target = url(c, 'sftp', join(c.remote, 'sftp-blocker', 'out.txt'));
  const future = sortLines({ inputs: [new File(join(c.remote, 'words.txt'))], outputs: [new File(target)] });
  assert.is(await deadline(future, 60_000), 4);
  const error = await rejection(deadline(future.outputs[0]!, 60_000));
  assert.instance(error, StagingError);
  assert.is(error.url, target);
  assert.is(error.direction, 'out');
  assert.equal(dfk().taskStateCounts, { exec_done: 1, failed: 1 });
});

s('htex - a block stages in over HTTP and out over rsync in the task', async (c) => {
  c.server.serve('/words/htex.txt', 'zulu\nyankee\nxray\n');
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({
          provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }),
          maxWorkersPerNode: 1,
          storageAccess: [new NoOpFileStaging(), new HTTPInTaskStaging(), new RSyncStaging({ channels: [c.channel] })],
          workingDir: join(work.path, 'htex'),
        }),
      ],
      runDir: work.path,
    }),
  );
  const target = join(c.remote, 'htex-out', 'sorted.txt');
  const future = sortLines({ inputs: [new File(c.server.url('/words/htex.txt'))], outputs: [new File(url(c, 'rsync', target))] });
  assert.is(await deadline(future, 90_000), 3);
  assert.is(readFileSync(target, 'utf8'), 'xray\nyankee\nzulu\n');
  assert.equal(dfk().taskStateCounts, { exec_done: 1 });
  assert.is(c.server.requestsFor('/words/htex.txt').length, 1);
});

s.run();

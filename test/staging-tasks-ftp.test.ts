// FTP staging through the DFK against Debian's vsftpd on a loopback port: the default
// storageAccess stages an ftp:// input in a task of its own; FTPInTaskStaging in the worker;
// a missing file fails the app with a DependencyError caused by a StagingError naming the URL.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { app, clear, Config, DependencyError, dfk, File, FTPInTaskStaging, load, NoOpFileStaging, StagingError, ThreadPoolExecutor } from '../src/index.ts';
import { deadline, rejection, tempDir } from './helpers.ts';
import { Vsftpd } from './support/vsftpd.ts';

interface Ctx {
  ftp: Vsftpd;
}
const s = suite<Ctx>('staging tasks over FTP (vsftpd)');
const work = tempDir('parsl-ts-staging-tasks-ftp-');

s.before(async (c) => {
  c.ftp = await Vsftpd.start();
  writeFileSync(join(c.ftp.root, 'numbers.txt'), '3\n1\n2\n');
});
s.after(async (c) => {
  await c.ftp.stop();
  work.remove();
});
s.after.each(async () => {
  await clear();
});

const sortNumbers = app((o: { inputs: File[] }) => readFileSync(o.inputs[0]!.filepath, 'utf8').trim().split('\n').map(Number).sort((a, b) => a - b), {
  name: 'sortNumbers',
});

s('ftp - the default storageAccess fetches the input in an _ftp_stage_in task the app waits on', async (c) => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })], runDir: work.path }));
  assert.equal(await deadline(sortNumbers({ inputs: [new File(c.ftp.url('numbers.txt'))] }), 60_000), [1, 2, 3]);
  assert.equal(dfk().taskStateCounts, { exec_done: 2 });
});

s('ftp - FTPInTaskStaging fetches it in the worker, before the app', async (c) => {
  load(
    new Config({
      executors: [new ThreadPoolExecutor({ maxThreads: 1, storageAccess: [new NoOpFileStaging(), new FTPInTaskStaging()] })],
      runDir: work.path,
    }),
  );
  assert.equal(await deadline(sortNumbers({ inputs: [new File(c.ftp.url('numbers.txt'))] }), 60_000), [1, 2, 3]);
  assert.equal(dfk().taskStateCounts, { exec_done: 1 });
});

s('ftp - a missing file fails the app with a DependencyError caused by a StagingError naming the URL', async (c) => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })], runDir: work.path }));
  const url = c.ftp.url('missing.txt');
  const error = await rejection(deadline(sortNumbers({ inputs: [new File(url)] }), 60_000));
  assert.instance(error, DependencyError);
  assert.instance(error.cause, StagingError);
  assert.is(error.cause.url, url);
  assert.equal(dfk().taskStateCounts, { failed: 1, dep_fail: 1 });
});

s.run();

// Staging as tasks in the DFK graph (dataflow/staging-plan.ts): stage-in tasks the app waits
// on, stage-out tasks after it with DataFutures that resolve once delivered, storageAccess per
// executor, and in-task staging in thread workers. Against the test HTTP server and real zip files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yauzl from 'yauzl';
import {
  app,
  clear,
  joinApp,
  Config,
  DependencyError,
  dfk,
  KernelClosedError,
  File,
  HTTPInTaskStaging,
  load,
  MonitoringHub,
  NoOpFileStaging,
  StagingError,
  ThreadPoolExecutor,
  ZipFileStaging,
  type ThreadPoolExecutorOptions,
} from '../src/index.ts';
import { loadSqlite } from '../src/common/sqlite.ts';
import { STAGING_TASKS_AT_ONCE } from '../src/dataflow/staging-plan.ts';
import { deadline, rejection, tempDir } from './helpers.ts';
import { contentSha256, TestHttpServer } from './support/http-server.ts';

interface Ctx {
  server: TestHttpServer;
}
const s = suite<Ctx>('staging tasks');
const work = tempDir('parsl-ts-staging-tasks-');

s.before(async (c) => {
  c.server = await TestHttpServer.start();
});
s.after(async (c) => {
  await c.server.stop();
  work.remove();
});
s.after.each(async () => {
  await clear();
});

function start(options: ThreadPoolExecutorOptions = {}, retries = 0): void {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2, ...options })], runDir: work.path, retries }));
}

/** The sha256 of the file an app was given, read in the worker. */
const sha256Of = app((o: { inputs: File[] }) => createHash('sha256').update(readFileSync(o.inputs[0]!.filepath)).digest('hex'), {
  name: 'sha256Of',
});

/** Writes `text` to its first output. */
const write = app(async (text: string, o: { outputs: File[]; inputs?: File[] }) => {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(o.outputs[0]!.filepath, text);
  return o.outputs[0]!.filepath;
}, { name: 'write' });

/** The bytes of a zip member, read with yauzl. */
async function zipMember(archive: string, member: string): Promise<string | undefined> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(archive, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z!))));
  try {
    return await new Promise<string | undefined>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== member) return zip.readEntry();
        zip.openReadStream(entry, (error, stream) => {
          if (error) return reject(error);
          const chunks: Buffer[] = [];
          stream!.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve(Buffer.concat(chunks).toString()));
        });
      });
      zip.on('end', () => resolve(undefined));
      zip.on('error', reject);
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

s('stage-in - an HTTP input is fetched by a task of its own that the app waits on; the app reads the local copy', async (c) => {
  start();
  const url = c.server.url('/data/100000/in.bin');
  const future = sha256Of({ inputs: [new File(url)] });
  assert.is(await deadline(future, 60_000), contentSha256(100_000));
  // The app and its stage-in task, each with its own id.
  assert.equal(dfk().taskStateCounts, { exec_done: 2 });
  assert.is(future.tid, 1, 'the app has the first id, as in Parsl; its stage-in the next');
  assert.ok(existsSync(join(dfk().runDir, 'staging', 'in.bin')), 'the copy sits in <run>/staging');
  assert.is(c.server.requestsFor('/data/100000/in.bin').length, 1);
});

s('stage-in - a 404 fails the stage-in task (retried like any task) and the app with a DependencyError caused by a StagingError naming the URL', async (c) => {
  start({}, 2);
  const url = c.server.url('/missing/x.txt');
  const future = sha256Of({ inputs: [new File(url)] });
  const error = await rejection(deadline(future, 60_000));
  assert.instance(error, DependencyError);
  assert.instance(error.cause, StagingError);
  assert.is(error.cause.url, url);
  assert.match(error.message, /task 2/, error.message);
  assert.equal(dfk().taskStateCounts, { failed: 1, dep_fail: 1 });
  assert.is(c.server.requestsFor('/missing/x.txt').length, 3, 'one try and two retries');
});

s('storageAccess - a file no provider of the executor can stage fails the call, naming the URL and the providers tried', async (c) => {
  start({ storageAccess: [new NoOpFileStaging()] });
  const url = c.server.url('/data/10/x.bin');
  const error = (() => {
    try {
      sha256Of({ inputs: [new File(url)] });
    } catch (e) {
      return e as StagingError;
    }
    return undefined;
  })();
  assert.instance(error, StagingError);
  assert.is(error!.url, url);
  assert.equal(error!.providersTried, ['NoOpFileStaging']);
  assert.equal(dfk().taskStateCounts, {}, 'no task was made');
});

s('storageAccess - a provider that is not one is refused, naming the option', () => {
  const error = (() => {
    try {
      new ThreadPoolExecutor({ storageAccess: [{} as never] });
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  assert.ok(error, 'refused');
  assert.match(error!.message, 'storageAccess');
  assert.match(error!.message, 'staging provider');
});

s('stage-out - a zip output is written by a stage-out task after the app; its DataFuture resolves once delivered', async () => {
  start();
  const archive = join(work.path, 'out.zip');
  const future = write('hello zip', { outputs: [new File(`zip:${archive}/inner/hello.txt`)] });
  const [output] = future.outputs;
  assert.ok(output!.stageOutFuture, 'a stage-out task delivers it');
  const file = await deadline(output!, 60_000);
  assert.is(await zipMember(archive, 'inner/hello.txt'), 'hello zip');
  assert.is(file.url, `zip:${archive}/inner/hello.txt`);
  assert.is(await future, join(dfk().runDir, 'staging', 'hello.txt'), 'the app wrote the local copy');
  assert.equal(dfk().taskStateCounts, { exec_done: 2 });
});

s('chain - an output staged out to a zip is staged in again for the app that reads its DataFuture', async () => {
  start();
  const archive = join(work.path, 'chain.zip');
  const produced = write('through the archive', { outputs: [new File(`zip:${archive}/chain.txt`)] });
  const read = app((o: { inputs: File[] }) => readFileSync(o.inputs[0]!.filepath, 'utf8'), { name: 'read' });
  const consumed = read({ inputs: [produced.outputs[0]!] });
  assert.is(await deadline(consumed, 60_000), 'through the archive');
  // write, its stage-out, the stage-in of the member, read.
  assert.equal(dfk().taskStateCounts, { exec_done: 4 });
});

s('stage-out - the app failing fails the output DataFuture (its stage-out task never runs)', async () => {
  start();
  const fail = app((_o: { outputs: File[] }) => {
    throw new Error('no output today');
  });
  const future = fail({ outputs: [new File(`zip:${join(work.path, 'never.zip')}/x.txt`)] });
  await rejection(deadline(future, 60_000), (e) => e.message === 'no output today');
  const error = await rejection(deadline(future.outputs[0]!, 60_000));
  assert.instance(error, DependencyError);
  assert.not.ok(existsSync(join(work.path, 'never.zip')));
});

s('in-task - with HTTPInTaskStaging the worker fetches the file around the app: no stage-in task', async (c) => {
  start({ storageAccess: [new NoOpFileStaging(), new HTTPInTaskStaging()], workingDir: join(work.path, 'in-task') });
  const future = sha256Of({ inputs: [new File(c.server.url('/data/5000/in-task.bin'))] });
  assert.is(await deadline(future, 60_000), contentSha256(5000));
  assert.equal(dfk().taskStateCounts, { exec_done: 1 });
  assert.ok(existsSync(join(work.path, 'in-task', 'in-task.bin')));
});

s('in-task - a failed in-task stage-in fails the app with the StagingError naming the URL', async (c) => {
  start({ storageAccess: [new NoOpFileStaging(), new HTTPInTaskStaging()] });
  const url = c.server.url('/missing/in-task.txt');
  const error = await rejection(deadline(sha256Of({ inputs: [new File(url)] }), 60_000));
  assert.instance(error, StagingError);
  assert.is(error.url, url);
});

s('in-task - a provider with inTask: true that cannot run in a worker is refused at the call', () => {
  const zipInTask = Object.assign(new ZipFileStaging(), { inTask: true });
  start({ storageAccess: [new NoOpFileStaging(), zipInTask] });
  const error = (() => {
    try {
      sha256Of({ inputs: [new File(`zip:${join(work.path, 'a.zip')}/x`)] });
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  assert.instance(error, StagingError);
  assert.match(error!.message, 'inTask: false');
});

s('executors - a call is pinned to the executor whose storageAccess staged its files', async (c) => {
  const dirA = join(work.path, 'pin-a');
  const dirB = join(work.path, 'pin-b');
  load(
    new Config({
      executors: [
        new ThreadPoolExecutor({ label: 'a', maxThreads: 1, workingDir: dirA, storageAccess: [new NoOpFileStaging(), new HTTPInTaskStaging()] }),
        new ThreadPoolExecutor({ label: 'b', maxThreads: 1, workingDir: dirB }),
      ],
      runDir: work.path,
    }),
  );
  const futures = Array.from({ length: 8 }, (_, i) => sha256Of({ inputs: [new File(c.server.url(`/data/${100 + i}/pin-${i}.bin`))] }));
  const hashes = await deadline(Promise.all(futures), 60_000);
  hashes.forEach((h, i) => assert.is(h, contentSha256(100 + i)));
  // Each file was staged once, by one executor's providers: in-task on 'a' (no extra task),
  // by a stage-in task for 'b'; the app then read it where it landed.
  let onB = 0;
  for (let i = 0; i < 8; i++) {
    const inA = existsSync(join(dirA, `pin-${i}.bin`));
    const inB = existsSync(join(dirB, `pin-${i}.bin`));
    assert.ok(inA !== inB, `pin-${i}.bin staged by exactly one executor`);
    if (inB) onB++;
  }
  assert.equal(dfk().taskStateCounts, { exec_done: 8 + onB });
});

s('monitoring - stage-in and stage-out tasks are rows of their own, named as in Parsl, and the app depends on its stage-in', async (c) => {
  const runDir = join(work.path, 'monitored');
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })], runDir, progress: false, monitoring: new MonitoringHub({}) }));
  const runId = dfk().runId;
  const future = write('x', { inputs: [new File(c.server.url('/data/10/mon.bin'))], outputs: [new File(`zip:${join(work.path, 'mon.zip')}/m.txt`)] });
  await deadline(future.outputs[0]!, 60_000);
  await clear();
  const Sqlite = loadSqlite('monitoring');
  const db = new Sqlite(join(runDir, 'monitoring.db'), { readonly: true });
  try {
    const tasks = db.prepare('SELECT task_id, task_func_name, task_state, task_depends FROM task WHERE run_id = ? ORDER BY task_id').all(runId) as Record<string, any>[];
    assert.equal(tasks.map((t) => [t.task_id, t.task_func_name, t.task_state]), [
      [1, 'write', 'exec_done'],
      [2, '_http_stage_in', 'exec_done'],
      [3, '_zip_stage_out', 'exec_done'],
    ]);
    assert.is(String(tasks[0]!.task_depends), '2');
    assert.is(String(tasks[2]!.task_depends), '1');
  } finally {
    db.close();
  }
});

s('join - a join app hands its remote file to the app it calls, which stages it', async (c) => {
  start();
  const viaJoin = joinApp((o: { inputs: File[] }) => sha256Of({ inputs: o.inputs }), { name: 'viaJoin' });
  assert.is(await deadline(viaJoin({ inputs: [new File(c.server.url('/data/777/join.bin'))] }), 60_000), contentSha256(777));
  assert.equal(dfk().taskStateCounts, { exec_done: 3 }, 'the join app, the stage-in, the app');
  assert.is(c.server.requestsFor('/data/777/join.bin').length, 1);
});

s('separate task - at most STAGING_TASKS_AT_ONCE transfers of one provider at once; the rest wait their turn', async (c) => {
  start();
  c.server.holding = true;
  c.server.maxInFlight = 0;
  const sixteenHeld = new Promise<void>((resolve) => (c.server.onHeld = (n) => n === STAGING_TASKS_AT_ONCE && resolve()));
  const futures = Array.from({ length: 40 }, (_, i) => sha256Of({ inputs: [new File(c.server.url(`/hold/64/limit-${i}.bin`))] }));
  await deadline(sixteenHeld, 60_000, 'sixteen transfers held');
  c.server.release();
  const hashes = await deadline(Promise.all(futures), 60_000);
  assert.ok(hashes.every((h) => h === contentSha256(64)));
  assert.is(c.server.maxInFlight, STAGING_TASKS_AT_ONCE);
  c.server.onHeld = undefined;
});

s('clear() - a stage-in in flight is stopped with the run: its task fails with KernelClosedError and the connection closes', async (c) => {
  start();
  c.server.holding = true;
  const held = new Promise<void>((resolve) => (c.server.onHeld = () => resolve()));
  const closed = new Promise<void>((resolve) => (c.server.onClosed = (url) => url.includes('in-flight') && resolve()));
  const future = sha256Of({ inputs: [new File(c.server.url('/hold/64/in-flight.bin'))] });
  await deadline(held, 60_000, 'the transfer held');
  await clear();
  // The stage-in ends first (so the app with a DependencyError), or the app does: either way, closed.
  await rejection(deadline(future, 10_000), (e) => e instanceof KernelClosedError || e.cause instanceof KernelClosedError);
  await deadline(closed, 10_000, 'the held connection closed by the client');
  c.server.onHeld = undefined;
  c.server.onClosed = undefined;
  c.server.release();
});

s.run();

// task_exit: a future resolves only once its result is committed, now that the commits run in
// the checkpoint writer's thread (issue 8, Deliver 7). Each future's callback reads the
// checkpoint through a connection of its own and looks for the future's result there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeResult, loadSqlite } from '../src/dataflow/checkpoint-file.ts';
import { checkpointThreadsStarted } from '../src/dataflow/checkpoint-thread.ts';
import type { SqliteDatabase } from '../src/common/sqlite.ts';
import { app, clear, Config, dfk, load, ThreadPoolExecutor } from '../src/index.ts';
import { deadline, tempDir } from './helpers.ts';

const work = tempDir();
test.after.each(() => clear());
test.after(() => work.remove());

const triple = app((x: number) => ({ x, tripled: 3 * x }), { cache: true, name: 'triple' });

test("checkpoint-durable - with 'task_exit', a future's callback finds its result in the file", async () => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })], runDir: join(work.path, 'durable'), checkpointMode: 'task_exit' }));
  const file = join(dfk().runDir, 'checkpoint', 'results.sqlite');
  let db: SqliteDatabase | undefined;
  const missing: number[] = [];
  let seen = 0;
  const stored = (x: number): boolean => {
    if (!existsSync(file)) return false;
    db ??= new Sqlite(file, { readonly: true, fileMustExist: true });
    // Another connection: it sees what is committed, nothing the writer still holds.
    // task_exit appends to the journal, merged into results later (checkpoint-file.ts).
    for (const bytes of db.prepare('SELECT value FROM results UNION ALL SELECT value FROM journal').pluck().iterate()) {
      const value = decodeResult(bytes as Buffer) as { x: number; tripled: number };
      if (value.x === x && value.tripled === 3 * x) return true;
    }
    return false;
  };
  const Sqlite = loadSqlite();
  // Results are committed in the writer's thread once it is up (on the DFK's thread before).
  await deadline(checkpointThreadsStarted(), 60_000, 'the writer thread');
  try {
    const count = 300;
    const futures = [];
    for (let x = 0; x < count; x++) {
      futures.push(
        triple(x).then((value) => {
          seen++;
          if (!stored(x)) missing.push(x);
          return value;
        }),
      );
    }
    const values = await deadline(Promise.all(futures), 60_000);
    assert.equal(values[7], { x: 7, tripled: 21 });
    assert.is(seen, count);
    assert.equal(missing, [], `results seen by the script before they were committed: ${missing.slice(0, 10).join(', ')}`);
  } finally {
    db?.close();
  }
});

test("checkpoint-durable - clear() right after the last future resolves leaves every result in the file", async () => {
  load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 2 })], runDir: join(work.path, 'clear'), checkpointMode: 'task_exit' }));
  const run = dfk().runDir;
  const early = triple(-1); // likely committed on the DFK's thread, before the writer's is up
  await deadline(checkpointThreadsStarted(), 60_000, 'the writer thread');
  const futures = Array.from({ length: 99 }, (_, x) => triple(1000 + x));
  futures.push(early);
  await deadline(Promise.all(futures), 60_000);
  await clear();
  // Before this test's own connection, which makes a -wal of its own to read.
  assert.not.ok(existsSync(join(run, 'checkpoint', 'results.sqlite-wal')), 'the WAL is folded into the file at close');
  const db = new (loadSqlite())(join(run, 'checkpoint', 'results.sqlite'), { readonly: true, fileMustExist: true });
  try {
    assert.is(db.prepare('SELECT count(*) FROM results').pluck().get(), 100);
    assert.is(db.prepare('SELECT count(*) FROM journal').pluck().get(), 0, 'the journal is merged into results at close');
  } finally {
    db.close();
  }
});

test.run();

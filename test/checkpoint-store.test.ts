import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { IllegalStateError, SerializationError } from '../src/common/errors.ts';
import { File } from '../src/staging/file.ts';
import {
  CHECKPOINT_FILE,
  CheckpointStore,
  getAllCheckpoints,
  getLastCheckpoint,
  type CheckpointStoreOptions,
} from '../src/dataflow/checkpoint-store.ts';
import { makeRunDir } from '../src/dataflow/run-dir.ts';
import { resultKey, resultValue } from './fixtures/checkpoint-keys.ts';
import { deadline, tempDir } from './helpers.ts';

const require = createRequire(import.meta.url);
const work = tempDir();
test.after(() => work.remove());
let n = 0;
const freshFile = () => join(work.path, `c${n++}.sqlite`);

/** A store whose warnings are collected instead of printed. */
function open(options: CheckpointStoreOptions): { store: CheckpointStore; warnings: string[] } {
  const warnings: string[] = [];
  const store = CheckpointStore.open({ onWarning: (m) => warnings.push(m), ...options });
  return { store, warnings };
}

/** A checkpoint file with results 0..count-1, closed. */
function written(count: number, path = freshFile()): string {
  const { store } = open({ path });
  for (let i = 0; i < count; i++) store.put(resultKey(i), resultValue(i));
  store.close();
  return path;
}

/** How many of results 0..count-1 `store` has, checking each value. */
function loaded(store: CheckpointStore, count: number): number {
  let found = 0;
  for (let i = 0; i < count; i++) {
    const hit = store.get(resultKey(i));
    if (hit === undefined) continue;
    assert.equal(hit.value, resultValue(i));
    found++;
  }
  return found;
}

/** A raw SQLite database, for files that are not (good) checkpoints. */
function rawDb(path: string, sql: string[]): void {
  const Database = require('better-sqlite3') as new (p: string) => { exec(s: string): void; close(): void };
  const db = new Database(path);
  for (const statement of sql) db.exec(statement);
  db.close();
}

test('checkpoint - importing the store does not load better-sqlite3', () => {
  assert.not.ok(
    Object.keys(require.cache).some((p) => p.includes('better-sqlite3')),
    'only a store that is opened loads the native module',
  );
});

test('checkpoint - put, get before and after the commit, reopen', () => {
  const path = freshFile();
  const { store } = open({ path });
  const key = resultKey(1);
  const value = {
    map: new Map<unknown, unknown>([['a', 1n]]),
    set: new Set([1, 2]),
    date: new Date(5),
    bytes: Buffer.from('hi'),
    floats: new Float64Array([1.5]),
    file: new File('/data/x.csv'),
    nothing: undefined,
  };
  store.put(key, value);
  assert.is(store.pending, 1);
  assert.equal(store.get(key), { value }, 'a queued result is found');
  assert.is(store.flush(), 1);
  assert.is(store.pending, 0);
  assert.is(store.committed, 1);
  store.put(resultKey(2), undefined);
  store.close();
  const { store: again } = open({ path });
  const hit = again.get(key)?.value as typeof value;
  assert.ok(Buffer.isBuffer(hit.bytes), 'Buffer rebuilt');
  assert.instance(hit.file, File);
  assert.is(hit.file.url, 'file:///data/x.csv');
  assert.equal(hit.map.get('a'), 1n);
  assert.equal(again.get(resultKey(2)), { value: undefined }, 'undefined is a result, and close() committed it');
  assert.is(again.get(resultKey(3)), undefined);
  assert.not.ok(again.has(resultKey(3)));
  again.close();
  again.close();
});

test('checkpoint - a batch is committed by count and by the timer', async () => {
  const path = freshFile();
  const commits: number[] = [];
  const { store } = open({ path, batchSize: 10, flushIntervalMs: 5, onCommit: (count) => commits.push(count) });
  let timerCommit!: () => void;
  const committedByTimer = new Promise<void>((resolve) => (timerCommit = resolve));
  const { store: timed } = open({ path: freshFile(), flushIntervalMs: 5, onCommit: () => timerCommit() });
  timed.put(resultKey(0), 0);
  assert.is(timed.pending, 1);
  for (let i = 0; i < 25; i++) store.put(resultKey(i), i);
  assert.equal(commits, [10, 10]);
  assert.is(store.pending, 5);
  const { store: reader } = open({ checkpointFiles: [path] });
  assert.is(loadedNumbers(reader, 25), 20, 'another connection sees the committed batches');
  reader.close();
  await deadline(committedByTimer, 30_000, 'timer flush');
  assert.is(timed.pending, 0, 'committed by the timer, without flush()');
  timed.close();
  store.close();
});

function loadedNumbers(store: CheckpointStore, count: number): number {
  let found = 0;
  for (let i = 0; i < count; i++) if (store.get(resultKey(i))?.value === i) found++;
  return found;
}

test('checkpoint - what cannot be stored throws at put and is not queued', () => {
  const { store } = open({ path: freshFile() });
  assert.throws(() => store.put(resultKey(0), { f: () => 1 }), (e: unknown) => e instanceof SerializationError && /result\.f is a function/.test(String(e)));
  class Thing {}
  assert.throws(() => store.put(resultKey(0), new Thing()), (e: unknown) => e instanceof SerializationError);
  assert.throws(() => store.put('abc', 1), /64 digits/);
  assert.throws(() => store.get('ABC'), /64 digits/);
  assert.is(store.pending, 0);
  store.close();
  assert.throws(() => store.put(resultKey(0), 1), (e: unknown) => e instanceof IllegalStateError && /closed/.test(String(e)));
  assert.throws(() => store.get(resultKey(0)), /closed/);
  const { store: readOnly } = open({});
  assert.throws(() => readOnly.put(resultKey(0), 1), /only reads/);
  assert.throws(() => CheckpointStore.open({ batchSize: 0 }), /batchSize: must be a positive number/);
});

test('checkpoint - several earlier checkpoints are one lookup; later files and this run win', () => {
  const older = freshFile();
  const newer = freshFile();
  const { store: a } = open({ path: older });
  a.put(resultKey(1), 'old');
  a.put(resultKey(2), 'only in older');
  a.close();
  const { store: b } = open({ path: newer });
  b.put(resultKey(1), 'new');
  b.put(resultKey(3), 'only in newer');
  b.close();
  const { store, warnings } = open({ path: freshFile(), checkpointFiles: [older, newer] });
  assert.equal(store.files, [newer, older], 'lookup order');
  assert.equal(store.get(resultKey(1)), { value: 'new' });
  assert.equal(store.get(resultKey(2)), { value: 'only in older' });
  assert.equal(store.get(resultKey(3)), { value: 'only in newer' });
  store.put(resultKey(3), 'this run');
  store.flush();
  assert.equal(store.get(resultKey(3)), { value: 'this run' });
  assert.equal(warnings, []);
  store.close();
});

test('checkpoint - a file that is not a checkpoint is reported and skipped', () => {
  const garbage = freshFile();
  writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
  const empty = freshFile();
  writeFileSync(empty, '');
  const foreign = freshFile();
  rawDb(foreign, ['CREATE TABLE results (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID']);
  const wrongSchema = freshFile();
  rawDb(wrongSchema, ['PRAGMA application_id = 1347699531', 'PRAGMA user_version = 1', 'CREATE TABLE results (key TEXT, v INTEGER)']);
  const newer = written(3);
  rawDb(newer, ['PRAGMA user_version = 3']);
  const good = written(3);
  const missing = join(work.path, 'missing.sqlite');
  const { store, warnings } = open({ checkpointFiles: [garbage, empty, foreign, wrongSchema, newer, missing, good] });
  assert.equal(store.files, [good]);
  const reasons = Object.fromEntries(store.skipped.map((s) => [s.path, s.reason]));
  assert.match(reasons[garbage]!, 'not an SQLite database');
  assert.match(reasons[empty]!, 'empty');
  assert.match(reasons[foreign]!, 'not a parsl-ts checkpoint');
  assert.match(reasons[wrongSchema]!, 'wrong schema');
  assert.match(reasons[newer]!, 'format 3 by a newer parsl-ts');
  assert.match(reasons[missing]!, 'does not exist');
  assert.is(warnings.length, 6);
  for (const [path, reason] of Object.entries(reasons)) {
    assert.ok(warnings.some((w) => w.includes(path) && w.includes(reason)), `the warning names ${path} and why`);
  }
  assert.is(loaded(store, 3), 3, 'the good one still loads');
  store.close();
});

test('checkpoint - a truncated checkpoint is skipped whole, never half-loaded', () => {
  const path = written(5000);
  const size = statSync(path).size;
  for (const fraction of [0.9, 0.5, 0.1]) {
    const cut = join(work.path, `truncated-${fraction}.sqlite`);
    written(5000, cut);
    truncateSync(cut, Math.floor((size * fraction) / 4096) * 4096 + 1000);
    const { store, warnings } = open({ checkpointFiles: [cut] });
    assert.equal(store.files, [], `cut to ${fraction}`);
    assert.is(warnings.length, 1);
    assert.match(warnings[0]!, cut);
    assert.is(loaded(store, 5000), 0);
    store.close();
  }
});

test('checkpoint - a checkpoint with pages overwritten in the middle is skipped whole', () => {
  const path = written(5000);
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(3 * 4096, 0), 0, 3 * 4096, Math.floor(size / 2 / 4096) * 4096);
  closeSync(fd);
  const { store, warnings } = open({ checkpointFiles: [path] });
  assert.equal(store.files, []);
  assert.match(warnings[0]!, `checkpoint ${path} is skipped: it is damaged`);
  assert.is(loaded(store, 5000), 0, 'not one result of a damaged file is used');
  store.close();
});

test('checkpoint - a damaged value is reported and missed, the others load', () => {
  const path = written(3);
  rawDb(path, [`UPDATE results SET value = x'ff0f6f' WHERE key = x'${resultKey(1)}'`]);
  const { store, warnings } = open({ checkpointFiles: [path] });
  assert.is(store.get(resultKey(1)), undefined);
  assert.match(warnings[0]!, `the result of ${resultKey(1)} cannot be decoded`);
  assert.is(loaded(store, 3), 2);
  store.close();
});

test('checkpoint - an unusable file where this run writes is moved aside and a new one started', () => {
  const path = freshFile();
  writeFileSync(path, 'not a database at all, but long enough to look like one '.repeat(100));
  const { store, warnings } = open({ path });
  assert.match(warnings[0]!, `checkpoint ${path} is not used: it is not an SQLite database`);
  assert.match(warnings[0]!, 'moved to');
  store.put(resultKey(1), 1);
  store.close();
  assert.ok(readdirSync(work.path).some((f) => f.startsWith(`${path.slice(work.path.length + 1)}.unusable-`)));
  const { store: again } = open({ path });
  assert.equal(again.get(resultKey(1)), { value: 1 });
  again.close();
});

/** Starts the writer fixture; resolves with its child process and a reader of its lines. */
function startWriter(path: string, mode: 'idle' | 'busy' | 'exit' | 'journal') {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/checkpoint-writer.ts', path, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return { child, exited, lines };
}

test('checkpoint - a driver killed with results queued: everything committed loads, nothing else', async () => {
  const path = freshFile();
  const { child, exited, lines } = startWriter(path, 'idle');
  try {
    const line = (await deadline(lines.next(), 60_000, 'writer')).value as string;
    assert.is(line, 'committed 2000 pending 50');
    child.kill('SIGKILL');
    await deadline(exited, 30_000, 'writer exit');
  } finally {
    child.kill('SIGKILL');
  }
  assert.ok(existsSync(`${path}-wal`), 'the killed driver left its WAL');
  const { store, warnings } = open({ checkpointFiles: [path] });
  assert.equal(warnings, []);
  assert.is(loaded(store, 2000), 2000);
  assert.is(loaded(store, 2100), 2000, 'the 50 queued results were never committed');
  store.close();
});

/** Starts a writer child on `path`, SIGKILLs it once it has said it committed `killAfter` results; returns how many it had said. */
async function killWhileCommitting(path: string, mode: 'busy' | 'journal', killAfter: number): Promise<number> {
  const { child, exited, lines } = startWriter(path, mode);
  let printed = 0;
  try {
    for (;;) {
      const line = (await deadline(lines.next(), 60_000, 'writer')).value as string;
      printed = Number(/^committed (\d+)$/.exec(line)![1]);
      if (printed >= killAfter) break;
    }
    child.kill('SIGKILL');
    await deadline(exited, 30_000, 'writer exit');
  } finally {
    child.kill('SIGKILL');
  }
  return printed;
}

/** The killed writer's file loads whole batches: results 0..n-1 with their values, nothing past them, n ≥ `printed`; returns n. */
function assertCommittedPrefix(path: string, printed: number): number {
  const { store, warnings } = open({ checkpointFiles: [path] });
  assert.equal(warnings, [], 'the file of a killed driver is sound');
  // The driver may be ahead of the lines read here (the pipe buffers them): count the prefix.
  let found = 0;
  while (store.get(resultKey(found)) !== undefined) found++;
  assert.ok(found >= printed, `found ${found}, the driver had committed at least ${printed}`);
  assert.is(found % 100, 0, 'whole batches only');
  assert.is(loaded(store, found), found, 'results 0..found-1, each with its value');
  for (let i = found; i < found + 200; i++) assert.is(store.get(resultKey(i)), undefined, 'nothing past the prefix');
  store.close();
  return found;
}

test('checkpoint - a driver killed while it commits: every committed result loads, the file is sound', async () => {
  for (let round = 0; round < 3; round++) {
    const path = freshFile();
    // Kill after a number of commits that differs per round, at whatever point of a commit the child is.
    assertCommittedPrefix(path, await killWhileCommitting(path, 'busy', 1000 + round * 1700));
  }
});

test("checkpoint - a driver killed while it appends to the journal (task_exit): every committed result loads, and the next writer merges them", async () => {
  // Before the first merge of the journal into the results table (at 50,000 rows), and after it.
  for (const killAfter of [1500, 51_000]) {
    const path = freshFile();
    const found = assertCommittedPrefix(path, await killWhileCommitting(path, 'journal', killAfter));
    // A resumed run's writer merges what the killed one left in its journal.
    open({ path }).store.close();
    const Database = require('better-sqlite3');
    const db = new Database(path, { readonly: true });
    try {
      assert.is(db.prepare('SELECT count(*) FROM journal').pluck().get(), 0);
      assert.is(db.prepare('SELECT count(*) FROM results').pluck().get(), found);
    } finally {
      db.close();
    }
  }
});

test('checkpoint - results queued when the process ends normally are committed', async () => {
  const path = freshFile();
  const { exited } = startWriter(path, 'exit');
  await deadline(exited, 60_000, 'writer exit');
  const { store } = open({ checkpointFiles: [path] });
  assert.is(loaded(store, 50), 50);
  store.close();
});

test('checkpoint - this run writes into a checkpoint folder, made if missing', () => {
  const folder = join(work.path, 'runinfo-w', '000', 'checkpoint');
  const { store } = open({ path: folder });
  assert.is(store.path, join(folder, CHECKPOINT_FILE));
  assert.not.ok(existsSync(folder), 'nothing is made before the first commit');
  store.put(resultKey(1), 1);
  store.close();
  const { store: idle } = open({ path: join(work.path, 'runinfo-w', '001', 'checkpoint') });
  idle.close();
  assert.not.ok(existsSync(join(work.path, 'runinfo-w', '001')), 'a run that commits nothing leaves no checkpoint');
  const { store: again } = open({ path: folder, checkpointFiles: [folder] });
  assert.is(again.path, join(folder, CHECKPOINT_FILE));
  assert.equal(again.files, [join(folder, CHECKPOINT_FILE)]);
  assert.equal(again.get(resultKey(1)), { value: 1 });
  again.close();
});

test('checkpoint - getAllCheckpoints and getLastCheckpoint list the runs that have one', () => {
  const runDir = join(work.path, 'runinfo');
  assert.equal(getAllCheckpoints(runDir), []);
  assert.equal(getLastCheckpoint(runDir), []);
  const first = makeRunDir(runDir);
  written(1, join(first.checkpoint, CHECKPOINT_FILE));
  const second = makeRunDir(runDir);
  written(1, join(second.checkpoint, CHECKPOINT_FILE));
  makeRunDir(runDir); // a run that crashed before its first commit: no checkpoint
  mkdirSync(join(runDir, 'plots', 'checkpoint'), { recursive: true });
  writeFileSync(join(runDir, 'plots', 'checkpoint', CHECKPOINT_FILE), '');
  writeFileSync(join(runDir, 'parsl.log'), '');
  assert.equal(getAllCheckpoints(runDir), [first.checkpoint, second.checkpoint]);
  assert.equal(getLastCheckpoint(runDir), [second.checkpoint]);
  const { store, warnings } = open({ checkpointFiles: getAllCheckpoints(runDir) });
  assert.equal(warnings, []);
  assert.is(store.files.length, 2, 'a checkpoint folder is accepted as the path');
  assert.is(loaded(store, 1), 1);
  store.close();
});

test.run();

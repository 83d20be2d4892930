import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deserialize } from 'node:v8';
import { loadSqlite as loadCommonSqlite, type SqliteConstructor, type SqliteDatabase, type SqliteStatement } from '../common/sqlite.ts';
import { decodeValue, encodeValue } from '../wire/codec.ts';
import { serializeResult } from './checkpoint-value.ts';

/**
 * One checkpoint file: a SQLite database (better-sqlite3 12) with two tables of results:
 * - `results(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID`: one B-tree keyed by the 32
 *   bytes of the memo key, so a lookup reads a few pages of the file and nothing is held in
 *   memory (Parsl loads every result into a dict: its issue #4063);
 * - `journal(key BLOB, value BLOB)` (format 2): the results of `task_exit` commits, appended
 *   in arrival order. Memo keys are hashes, so an insert into `results` lands on a random page
 *   and each commit rewrites one 4 KB page per row (6–10 µs a row); an append fills the last
 *   page only (~1.5 µs a row). The writer merges the journal into `results` in key order (each
 *   page then rewritten once for many rows) when it holds `JOURNAL_MERGE_ROWS` rows, when it
 *   opens the file and when it closes it; 2–3 µs a row in all (bench/checkpoint-cost.ts).
 *   A reader loads what a killed run left in the journal (at most `JOURNAL_MERGE_ROWS` rows
 *   and a batch) into memory. A row in both tables is the same result computed twice.
 *
 * The file is marked as ours by `PRAGMA application_id` and versioned by `user_version`,
 * both in the 100-byte header. Values are `v8.serialize(encodeValue(value))` (written by
 * checkpoint-value.ts for the common shapes, in the same format): the encoding
 * that results already travel in from workers (Map, Set, Date, BigInt, typed arrays, Error…
 * kept; Buffer and File rebuilt by `decodeValue`), 2 bytes of header and no schema to keep
 * in step. V8 reads what older versions wrote, so a Node upgrade keeps old checkpoints.
 *
 * Journal: WAL with `synchronous=NORMAL`: a commit appends to the `-wal` file without
 * fsync, so it survives the death of the process (kill -9) at once, and a power loss back
 * to the last WAL checkpoint (SQLite never leaves the file half-written either way).
 * `synchronous: 'full'` fsyncs every commit for the power-loss case, at a cost per commit.
 */

/** The checkpoint database in a run's `checkpoint/` folder. */
export const CHECKPOINT_FILE = 'results.sqlite';

/** 'PTCK' in the header: a parsl-ts checkpoint. */
const APPLICATION_ID = 0x5054434b;
/** The layout this code writes; it reads this one and format 1 (`results` alone). */
const FORMAT_VERSION = 2;
/** Rows past which the writer merges the journal into `results`: bounds a reader's memory and a merge's pause (~50 ms). */
export const JOURNAL_MERGE_ROWS = 50_000;

/** better-sqlite3, loaded on first use (see common/sqlite.ts). */
export function loadSqlite(): SqliteConstructor {
  return loadCommonSqlite('checkpoint');
}

/** A checkpoint path: a run's `checkpoint/` folder (Parsl's form) or the database file itself. */
export function checkpointFilePath(path: string): string {
  return isDirectory(path) ? join(path, CHECKPOINT_FILE) : path;
}

/**
 * Where this run writes: an existing folder, or a path that does not end in `.sqlite`, is a
 * `checkpoint/` folder (made if missing) that holds `results.sqlite`; else the file itself.
 */
export function writerFilePath(path: string, make = false): string {
  const folder = isDirectory(path) || (!existsSync(path) && !path.endsWith('.sqlite'));
  if (make) mkdirSync(folder ? path : dirname(path), { recursive: true });
  return folder ? join(path, CHECKPOINT_FILE) : path;
}

/** A memo key (64 hex digits) as the 32 bytes stored. */
export function keyBytes(key: string): Buffer {
  if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) throw new TypeError(`a checkpoint key is a sha256 in hex (64 digits), got ${String(key)}`);
  return Buffer.from(key, 'hex');
}

/** A result as stored; throws `SerializationError` for what cannot travel (and so cannot be stored). */
export function encodeResult(value: unknown): Buffer {
  return serializeResult(encodeValue(value, 'result'));
}

export function decodeResult(bytes: Buffer): unknown {
  return decodeValue(deserialize(bytes));
}

/** Why `path` is not a usable checkpoint, or undefined when it is one. Reads the whole file (quick_check). */
function problemOf(db: SqliteDatabase): string | undefined {
  const id = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (id !== APPLICATION_ID) {
    const tables = db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").pluck().get() as number;
    return tables === 0 && id === 0 ? 'it is empty (its run ended before its first commit)' : 'it is not a parsl-ts checkpoint (wrong application_id)';
  }
  if (version > FORMAT_VERSION) return `it was written in format ${version} by a newer parsl-ts (this one reads format ${FORMAT_VERSION})`;
  const columns = db.prepare("SELECT group_concat(name || ':' || type || ':' || pk, ',') FROM pragma_table_info('results')").pluck().get();
  if (columns !== 'key:BLOB:1,value:BLOB:0') return `its results table has the wrong schema (${String(columns ?? 'missing')})`;
  if (version >= 2) {
    const journal = db.prepare("SELECT group_concat(name || ':' || type || ':' || pk, ',') FROM pragma_table_info('journal')").pluck().get();
    if (journal !== 'key:BLOB:0,value:BLOB:0') return `its journal table has the wrong schema (${String(journal ?? 'missing')})`;
  }
  // Checks every page of the file: a truncated or damaged file fails here, before any lookup,
  // so that it is skipped whole and never half-loaded.
  const check = db.pragma('quick_check', { simple: true });
  if (check !== 'ok') return `it is damaged (quick_check: ${String(check)})`;
  return undefined;
}

/** An earlier run's checkpoint, open for lookups only. */
export class CheckpointReader {
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #select: SqliteStatement;
  /** The journal's rows (a run killed before it merged them), by key in latin1: later rows win. */
  readonly #journal = new Map<string, Buffer>();

  private constructor(path: string, db: SqliteDatabase) {
    this.path = path;
    this.#db = db;
    this.#select = db.prepare('SELECT value FROM results WHERE key = ?').pluck();
    if ((db.pragma('user_version', { simple: true }) as number) >= 2) {
      for (const row of db.prepare('SELECT key, value FROM journal ORDER BY rowid').raw().iterate()) {
        const [key, value] = row as [Buffer, Buffer];
        this.#journal.set(key.toString('latin1'), value);
      }
    }
  }

  /** Opens and checks the checkpoint at `path`; a reason instead when it cannot be used. */
  static open(path: string): CheckpointReader | { path: string; reason: string } {
    const file = checkpointFilePath(path);
    if (!existsSync(file)) return { path: file, reason: 'it does not exist' };
    const Sqlite = loadSqlite();
    let db: SqliteDatabase | undefined;
    try {
      // Read-only: an earlier run's files are evidence, not ours to change. SQLite still
      // reads the commits in a `-wal` left by a driver that was killed.
      db = new Sqlite(file, { readonly: true, fileMustExist: true });
      const problem = problemOf(db);
      if (problem === undefined) return new CheckpointReader(file, db);
      db.close();
      return { path: file, reason: problem };
    } catch (error) {
      db?.close();
      return { path: file, reason: sqliteReason(error) };
    }
  }

  /** The stored bytes of `key`, or undefined. Throws on a damaged page. */
  lookup(key: Buffer): Buffer | undefined {
    return (this.#journal.size > 0 ? this.#journal.get(key.toString('latin1')) : undefined) ?? (this.#select.get(key) as Buffer | undefined);
  }

  close(): void {
    this.#db.close();
  }
}

/** The run's own checkpoint, open for writing (and lookups). */
export class CheckpointWriter {
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #select: SqliteStatement;
  readonly #commit: (rows: Iterable<[Buffer, Buffer]>) => void;
  readonly #append: (rows: Iterable<[Buffer, Buffer]>) => void;
  readonly #merge: () => void;
  /** Rows appended to the journal since its last merge. */
  #journalRows = 0;

  /**
   * Opens or creates the checkpoint at `path`. An existing file that cannot be used (damaged,
   * not a checkpoint) is moved aside to `<file>.unusable-<time>` and reported through `warn`.
   */
  constructor(path: string, options: { synchronous?: 'normal' | 'full'; warn: (message: string) => void }) {
    const file = writerFilePath(path, true);
    const Sqlite = loadSqlite();
    if (existsSync(file) && statSync(file).size > 0) {
      const reason = checkWritable(Sqlite, file);
      if (reason !== undefined) {
        const aside = `${file}.unusable-${Date.now()}`;
        for (const suffix of ['', '-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
        options.warn(`checkpoint ${file} is not used: ${reason}; moved to ${aside}, starting a new one`);
      }
    }
    this.path = file;
    this.#db = new Sqlite(file, { timeout: 5_000 });
    try {
      // Pages the merged journal frees are reused by the next appends; at close they are given
      // back to the file system (else the file keeps the journal's size: ~70 B per result, not ~48).
      // Takes effect on a new file only (before its first table).
      this.#db.pragma('auto_vacuum = INCREMENTAL');
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      // Measured on 100k results in batches of 300 (bench/checkpoint-cost.ts): commits 2.5x faster
      // with the B-tree's pages in a 32 MB cache (keys are hashes: inserts land all over the tree)
      // and the WAL folded into the file every 64 MB rather than every 4 MB (each fold fsyncs).
      // Both bound the memory and the disk used; a kill -9 still keeps every commit (the WAL is
      // durable across a crash of the process).
      this.#db.pragma('cache_size = -32768');
      this.#db.pragma('wal_autocheckpoint = 16384');
      this.#db.transaction(() => {
        this.#db.exec('CREATE TABLE IF NOT EXISTS results (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID');
        this.#db.exec('CREATE TABLE IF NOT EXISTS journal (key BLOB NOT NULL, value BLOB NOT NULL)');
        this.#db.pragma(`application_id = ${APPLICATION_ID}`);
        this.#db.pragma(`user_version = ${FORMAT_VERSION}`);
      })();
      this.#select = this.#db.prepare('SELECT value FROM results WHERE key = ?').pluck();
      // OR REPLACE: a result computed again (after a resume) is the same result.
      const insert = this.#db.prepare('INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)');
      this.#commit = this.#db.transaction((rows: Iterable<[Buffer, Buffer]>) => {
        for (const [key, value] of rows) insert.run(key, value);
      });
      const append = this.#db.prepare('INSERT INTO journal (key, value) VALUES (?, ?)');
      this.#append = this.#db.transaction((rows: Iterable<[Buffer, Buffer]>) => {
        for (const [key, value] of rows) append.run(key, value);
      });
      // In key order, a later row of a key after an earlier one (OR REPLACE keeps the last).
      const move = this.#db.prepare('INSERT OR REPLACE INTO results (key, value) SELECT key, value FROM journal ORDER BY key, rowid');
      const empty = this.#db.prepare('DELETE FROM journal');
      this.#merge = this.#db.transaction(() => {
        move.run();
        empty.run();
      });
      this.#merge(); // what a killed run left in the journal
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  /** Writes `rows` into `results` in one transaction (sorted by key, they are inserted faster); returns once committed. */
  commit(rows: Iterable<[Buffer, Buffer]>): void {
    this.#commit(rows);
  }

  /**
   * Appends `rows` to the journal in one transaction; returns once committed (as durable as
   * `commit`). The journal is merged into `results` once it holds `JOURNAL_MERGE_ROWS` rows.
   */
  append(rows: readonly [Buffer, Buffer][]): void {
    this.#append(rows);
    this.#journalRows += rows.length;
    if (this.#journalRows >= JOURNAL_MERGE_ROWS) this.#mergeJournal();
  }

  /**
   * The bytes of `key` in `results`. Rows appended since this writer opened are not looked
   * up (the journal has no index): they are this run's results, which the run's memo table holds.
   */
  lookup(key: Buffer): Buffer | undefined {
    return this.#select.get(key) as Buffer | undefined;
  }

  /** Merges the journal, closes the database; SQLite folds the WAL into the file and removes it. */
  close(): void {
    try {
      if (this.#journalRows > 0) {
        this.#mergeJournal();
        this.#db.pragma('incremental_vacuum');
      }
    } finally {
      this.#db.close();
    }
  }

  #mergeJournal(): void {
    this.#merge();
    this.#journalRows = 0;
  }
}

function checkWritable(Sqlite: SqliteConstructor, file: string): string | undefined {
  let db: SqliteDatabase | undefined;
  try {
    db = new Sqlite(file, { fileMustExist: true });
    return problemOf(db);
  } catch (error) {
    return sqliteReason(error);
  } finally {
    db?.close();
  }
}

function sqliteReason(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'SQLITE_NOTADB') return 'it is not an SQLite database (damaged, or another kind of file)';
  if (code === 'SQLITE_CORRUPT') return `it is damaged (${message})`;
  return `it cannot be read (${code ?? 'error'}: ${message ?? String(error)})`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

import type { SqliteDatabase, SqliteStatement } from '../common/sqlite.ts';

/** SQLite binds at most 32,766 values per statement. */
const MAX_VALUES = 32_766;

/**
 * Rows of one table that a writer batch inserts at its end, many per statement: a statement
 * per row costs more in binding and stepping than SQLite's insert itself (128 `status` rows
 * in one statement: ~40% less CPU per row). `head` is the statement up to `VALUES`, `tail`
 * what follows the rows (an upsert's `ON CONFLICT …`, which applies to each row).
 */
export class BulkInsert {
  readonly #columns: number;
  readonly #rowsPerInsert: number;
  readonly #one: SqliteStatement;
  readonly #many: SqliteStatement;
  readonly #values: unknown[] = [];

  constructor(db: SqliteDatabase, head: string, columns: number, tail = '', rowsPerInsert = 128) {
    this.#columns = columns;
    this.#rowsPerInsert = Math.max(1, Math.min(rowsPerInsert, Math.floor(MAX_VALUES / columns)));
    const row = `(${Array(columns).fill('?').join(', ')})`;
    this.#one = db.prepare(`${head} VALUES ${row} ${tail}`);
    this.#many = db.prepare(`${head} VALUES ${Array(this.#rowsPerInsert).fill(row).join(', ')} ${tail}`);
  }

  /** Holds a row (its `columns` values, in order) until `write()`. */
  add(row: readonly unknown[]): void {
    const values = this.#values;
    for (let i = 0; i < row.length; i++) values.push(row[i]);
    if (values.length === this.#rowsPerInsert * this.#columns) {
      this.#many.run(values);
      values.length = 0;
    }
  }

  /** Inserts a row now, before the held ones; returns how many rows it changed (0: ignored). */
  insertNow(row: readonly unknown[]): number {
    return this.#one.run(row).changes;
  }

  /** Inserts the held rows. */
  write(): void {
    const values = this.#values;
    const n = this.#columns;
    for (let i = 0; i < values.length; i += n) this.#one.run(values.slice(i, i + n));
    values.length = 0;
  }

  /** Forgets the held rows (the batch was rolled back). */
  clear(): void {
    this.#values.length = 0;
  }
}

import type { SqliteDatabase, SqliteStatement } from '../common/sqlite.ts';

/** SQLite binds at most 32,766 values per statement. */
const MAX_VALUES = 32_766;

/**
 * Rows of one table that a writer batch inserts at its end, many per statement: a statement
 * per row costs more in binding and stepping than SQLite's insert itself (128 `status` rows
 * in one statement: ~40% less CPU per row). `head` is the statement up to `VALUES`, `tail`
 * what follows the rows (an upsert's `ON CONFLICT …`, which applies to each row).
 */
export class BulkWrite {
  readonly #db: SqliteDatabase;
  readonly #head: string;
  readonly #tail: string;
  readonly #columns: number;
  readonly #rowsPerInsert: number;
  /** Statements by the number of rows they insert: `rowsPerInsert`, and halves of it down to 1, prepared when first needed. */
  readonly #statements = new Map<number, SqliteStatement>();
  readonly #values: unknown[] = [];

  constructor(db: SqliteDatabase, head: string, columns: number, tail = '', rowsPerInsert = 128) {
    this.#db = db;
    this.#head = head;
    this.#tail = tail;
    this.#columns = columns;
    this.#rowsPerInsert = 2 ** Math.floor(Math.log2(Math.max(1, Math.min(rowsPerInsert, Math.floor(MAX_VALUES / columns)))));
  }

  /** Holds a row (its `columns` values, in order) until `write()`. */
  add(row: readonly unknown[]): void {
    const values = this.#values;
    for (let i = 0; i < row.length; i++) values.push(row[i]);
    if (values.length === this.#rowsPerInsert * this.#columns) {
      this.#statement(this.#rowsPerInsert).run(values);
      values.length = 0;
    }
  }

  /** Inserts a row now, before the held ones; returns how many rows it changed (0: ignored). */
  insertNow(row: readonly unknown[]): number {
    return this.#statement(1).run(row).changes;
  }

  /** Inserts the held rows: fewer than `rowsPerInsert`, in at most log2(rowsPerInsert) + 1 statements. */
  write(): void {
    const values = this.#values;
    const n = this.#columns;
    let at = 0;
    for (let rows = this.#rowsPerInsert / 2; rows >= 1; rows /= 2) {
      if (values.length - at >= rows * n) {
        this.#statement(rows).run(values.slice(at, at + rows * n));
        at += rows * n;
      }
    }
    values.length = 0;
  }

  /** Forgets the held rows (the batch was rolled back). */
  clear(): void {
    this.#values.length = 0;
  }

  #statement(rows: number): SqliteStatement {
    let statement = this.#statements.get(rows);
    if (!statement) {
      const row = `(${Array(this.#columns).fill('?').join(', ')})`;
      statement = this.#db.prepare(`${this.#head} VALUES ${Array(rows).fill(row).join(', ')} ${this.#tail}`);
      this.#statements.set(rows, statement);
    }
    return statement;
  }
}

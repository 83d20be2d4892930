import { createRequire } from 'node:module';
import { ConfigError } from './errors.ts';

/** The subset of better-sqlite3's API used here (it ships no types; @types/better-sqlite3 is not a dependency). */
export interface SqliteDatabase {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  prepare(source: string): SqliteStatement;
  exec(source: string): SqliteDatabase;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
  readonly open: boolean;
}
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  pluck(toggle?: boolean): SqliteStatement;
  raw(toggle?: boolean): SqliteStatement;
}
type DatabaseConstructor = new (
  path: string,
  options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number },
) => SqliteDatabase;

let sqlite: DatabaseConstructor | undefined;

export type { DatabaseConstructor as SqliteConstructor };

/**
 * better-sqlite3, loaded on first use so that a run without checkpoints or monitoring never
 * loads the native module, nor needs it installed. `field` names the option that needs it.
 */
export function loadSqlite(field: string): DatabaseConstructor {
  if (sqlite) return sqlite;
  try {
    sqlite = createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;
  } catch (error) {
    throw new ConfigError(
      field,
      `needs better-sqlite3 12 (npm install better-sqlite3@^12; version 13 needs Node 22): ${(error as Error).message}`,
    );
  }
  return sqlite;
}

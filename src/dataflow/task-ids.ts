import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunDir } from './run-dir.ts';

/**
 * Task ids of a run directory, never given twice across the drivers that work in it (a run and
 * its resumptions). A resumed driver's tasks must not take the ids of the tasks its predecessor
 * left on HTEX blocks: their results come back by id (htex/adopt.ts), and AUTO_LOGNAME files are
 * named by id. Ids are reserved in chunks in `<run dir>/task_ids` (one small write per chunk),
 * so a driver killed at any moment has reserved every id it gave.
 */
export const TASK_IDS_FILE = 'task_ids';

/** Ids reserved per write. */
export const TASK_ID_CHUNK = 10_000;

export class TaskIds {
  /** The first id this driver gives (ids below it belong to earlier drivers of the run). */
  readonly first: number;
  readonly #file: string;
  /** The last id given. */
  #last: number;
  /** The last id reserved in the file. */
  #reserved: number;

  constructor(run: RunDir) {
    this.#file = join(run.path, TASK_IDS_FILE);
    this.#reserved = readReserved(this.#file);
    // A new driver starts after everything an earlier one may have given.
    this.#last = this.#reserved;
    this.first = this.#reserved + 1;
  }

  /** The next id, reserving a new chunk in the file when needed. */
  next(): number {
    const id = ++this.#last;
    if (id > this.#reserved) {
      this.#reserved = id - 1 + TASK_ID_CHUNK;
      // Written aside and renamed: a kill mid-write leaves the old number, never a torn one.
      const temporary = `${this.#file}.${process.pid}`;
      writeFileSync(temporary, `${this.#reserved}\n`);
      renameSync(temporary, this.#file);
    }
    return id;
  }
}

function readReserved(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const reserved = Number(text.trim());
  if (!Number.isSafeInteger(reserved) || reserved < 0) throw new Error(`${file}: expected the number of task ids reserved, found ${JSON.stringify(text.slice(0, 40))}`);
  return reserved;
}

import type { SqliteDatabase, SqliteStatement } from '../common/sqlite.ts';

/**
 * A writer batch's changes to each run's count of tasks per state, per second (a task that
 * moves adds -1 to its old state and +1 to its new one), summed in memory and added to
 * `parsl_ts_state_changes` at the batch's end: a few rows per second of the run, whatever its
 * task rate. Keyed by run, state, then second, so that a change costs three look-ups of keys
 * that exist, not a key string built per change.
 */
export class StateDeltas {
  readonly #upsert: SqliteStatement;
  readonly #byRun = new Map<string, Map<string, Map<number, number>>>();

  constructor(db: SqliteDatabase) {
    this.#upsert = db.prepare(
      `INSERT INTO parsl_ts_state_changes (run_id, second, state, delta) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET delta = delta + excluded.delta`,
    );
  }

  add(runId: string, second: number, state: string, delta: number): void {
    let run = this.#byRun.get(runId);
    if (!run) this.#byRun.set(runId, (run = new Map()));
    let seconds = run.get(state);
    if (!seconds) run.set(state, (seconds = new Map()));
    seconds.set(second, (seconds.get(second) ?? 0) + delta);
  }

  /** Adds the batch's sums to the table (the batch's end). */
  write(): void {
    for (const [runId, run] of this.#byRun) {
      for (const [state, seconds] of run) for (const [second, delta] of seconds) if (delta !== 0) this.#upsert.run(runId, second, state, delta);
    }
    this.#byRun.clear();
  }

  /** Forgets the sums (the batch was rolled back). */
  clear(): void {
    this.#byRun.clear();
  }
}

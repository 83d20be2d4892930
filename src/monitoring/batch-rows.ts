/**
 * Rows the monitoring writer holds back until the end of the batch (one transaction): a task
 * or a try first seen in the batch is written once, with what the rest of the batch said about
 * it, instead of inserted and then updated by each later event. A quick task's submission,
 * state changes, and its try's launch, start and return usually arrive in one or two batches:
 * two inserts instead of an insert and up to four updates, each of which rewrites index
 * entries (`task.task_state` is indexed). The rows' contents are the same (test/monitoring-store.test.ts).
 */

/** Rows by run and task id (a task has one row of each kind in a batch: its latest try). */
export class BatchRows<Row> {
  readonly #byRun = new Map<string, Map<number, Row>>();

  get(runId: string, taskId: number): Row | undefined {
    return this.#byRun.get(runId)?.get(taskId);
  }

  set(runId: string, taskId: number, row: Row): void {
    let rows = this.#byRun.get(runId);
    if (!rows) this.#byRun.set(runId, (rows = new Map()));
    rows.set(taskId, row);
  }

  /** Removes and returns the row of `taskId`: the caller writes it now, before an event that needs it in the table. */
  take(runId: string, taskId: number): Row | undefined {
    const rows = this.#byRun.get(runId);
    const row = rows?.get(taskId);
    if (row !== undefined) rows!.delete(taskId);
    return row;
  }

  /** Calls `write` for each row (the batch's end), then forgets them. */
  drain(write: (runId: string, row: Row) => void): void {
    for (const [runId, rows] of this.#byRun) for (const row of rows.values()) write(runId, row);
    this.#byRun.clear();
  }

  /** Forgets every row (the batch was rolled back). */
  clear(): void {
    this.#byRun.clear();
  }
}

/** A try launched in the current batch, with its start and return if they came too. */
export interface PendingTry {
  tryId: number;
  taskId: number;
  executor: string;
  blockId: string | null;
  hostname: string | null;
  launched: string;
  running: string | null;
  returned: string | null;
}

/** A task submitted in the current batch: its insert's values, and its latest state and return time. */
export interface PendingTask {
  taskId: number;
  values: unknown[];
  state: string | null;
  returned: string | null;
}

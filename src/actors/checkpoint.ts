/**
 * The DFK's checkpoint side (Parsl's checkpointing): results of cached apps written to
 * `<run dir>/checkpoint/` per `Config.checkpointMode`, and results of earlier runs
 * (`Config.checkpointFiles`) found for cached calls. Results only, never failures.
 *
 * - `task_exit`: each result is put in the store and its future resolves only once the
 *   result is committed: the DFK asks `commit()` at the end of each message, which flushes
 *   once for every result of the message (one transaction per batch of results) and then
 *   resolves their futures. A result the script has seen is never computed again.
 * - `periodic`, `dfk_exit`, `manual`: results are held here and written on the period's
 *   timer (unref'd), at cleanup, or on `dfk().checkpoint()`. Whatever is held is also written
 *   at cleanup, whatever the mode. Until then the in-run memo table answers for them.
 */
import type { Config } from '../config/config.ts';
import { CheckpointStore, type CheckpointHit } from '../dataflow/checkpoint-store.ts';
import type { RunDir } from '../dataflow/run-dir.ts';

export class Checkpointer {
  readonly #store: CheckpointStore;
  readonly #mode: Config['checkpointMode'];
  /** Results not yet given to the store (modes other than `task_exit`). */
  #held = new Map<string, unknown>();
  /** `task_exit`: resolutions waiting for the commit of their results. */
  #waiting: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;

  private constructor(store: CheckpointStore, mode: Config['checkpointMode'], periodMs: number) {
    this.#store = store;
    this.#mode = mode;
    if (mode === 'periodic') {
      this.#timer = setInterval(() => this.checkpoint(), periodMs);
      this.#timer.unref();
    }
  }

  /** A checkpointer when the config writes or reads checkpoints, else undefined. */
  static open(config: Config, run: RunDir): Checkpointer | undefined {
    if (config.checkpointMode === undefined && config.checkpointFiles.length === 0) return undefined;
    const store = CheckpointStore.open({
      path: config.checkpointMode === undefined ? undefined : run.checkpoint,
      checkpointFiles: config.checkpointFiles,
      // Writes happen when the mode says, not on the store's own timer.
      flushIntervalMs: 2 ** 30,
      batchSize: 2 ** 30,
    });
    return new Checkpointer(store, config.checkpointMode, config.checkpointPeriodMs);
  }

  /** A result of an earlier run (or of this run, once written). */
  get(key: string): CheckpointHit | undefined {
    return this.#store.get(key);
  }

  /**
   * A cached call's result. Returns true when its future must wait: `resolve` then runs at
   * the next `commit()`, after the result is committed.
   */
  record(key: string, value: unknown, resolve: () => void): boolean {
    if (this.#mode === undefined) return false;
    if (this.#mode !== 'task_exit') {
      this.#held.set(key, value);
      return false;
    }
    if (!this.#put(key, value)) return false;
    this.#waiting.push(resolve);
    return true;
  }

  /** `task_exit`: commits the results of this message, then resolves their futures (and those they lead to). */
  commit(): void {
    while (this.#waiting.length > 0) {
      this.#flush();
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const resolve of waiting) resolve();
    }
  }

  /** Writes every held result now (`dfk().checkpoint()`, the period, cleanup); returns how many. */
  checkpoint(): number {
    const held = this.#held;
    this.#held = new Map();
    let count = 0;
    for (const [key, value] of held) if (this.#put(key, value)) count++;
    this.#flush();
    return count;
  }

  /** At cleanup: writes what is held and closes the files. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.commit();
    this.checkpoint();
    this.#store.close();
  }

  #put(key: string, value: unknown): boolean {
    try {
      this.#store.put(key, value);
      return true;
    } catch (error) {
      process.emitWarning(`a result is not checkpointed (it runs again in a later run): ${(error as Error).message}`, { code: 'PARSL_TS_CHECKPOINT' });
      return false;
    }
  }

  #flush(): void {
    try {
      this.#store.flush();
    } catch (error) {
      process.emitWarning(`the checkpoint could not be written: ${(error as Error).message}`, { code: 'PARSL_TS_CHECKPOINT' });
    }
  }
}

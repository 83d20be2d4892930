/**
 * The DFK's checkpoint side (Parsl's checkpointing): results of cached apps written to
 * `<run dir>/checkpoint/` per `Config.checkpointMode`, and results of earlier runs
 * (`Config.checkpointFiles`) found for cached calls. Results only, never failures.
 *
 * - `task_exit`: each result is made travel-safe here (`encodeValue`: a value that cannot be
 *   stored is refused at once) and its future waits. At the end of each DFK message,
 *   `commit()` posts the message's results as one batch to the checkpoint writer's thread,
 *   which encodes and commits them in one transaction off the DFK's thread; on its
 *   acknowledgement the batch's futures resolve, in a message of their own (`schedule`). A
 *   result the script has seen is committed, and never computed again. Until the thread is
 *   up, the results are committed here, at the end of their message, as they always were: a
 *   resumed run's first results (those waiting in HTEX's stream) must not wait for it.
 * - `periodic`, `dfk_exit`, `manual`: results are held here and written on the period's
 *   timer (unref'd), at cleanup, or on `dfk().checkpoint()`. Whatever is held is also written
 *   at cleanup, whatever the mode. Until then the in-run memo table answers for them.
 */
import type { Config } from '../config/config.ts';
import { CheckpointStore, type CheckpointHit } from '../dataflow/checkpoint-store.ts';
import { CheckpointThread } from '../dataflow/checkpoint-thread.ts';
import type { RunDir } from '../dataflow/run-dir.ts';
import { encodeValue } from '../wire/codec.ts';

/** `task_exit`: the futures of one committed batch; `released` once they are resolved. */
interface Batch {
  resolves: (() => void)[];
  released: boolean;
}

export class Checkpointer {
  readonly #store: CheckpointStore;
  readonly #mode: Config['checkpointMode'];
  /** Results not yet given to the store (modes other than `task_exit`). */
  #held = new Map<string, unknown>();
  /** `task_exit`: the writer's thread, and this message's results (keys, encoded values, resolutions). */
  readonly #writer: CheckpointThread | undefined;
  readonly #schedule: (fn: () => void) => void;
  #keys: string[] = [];
  #values: unknown[] = [];
  /** The values as given: committed here, on the DFK's thread, while the writer's thread starts. */
  #raw: unknown[] = [];
  #resolves: (() => void)[] = [];
  /** `task_exit`: batches posted whose futures are not resolved yet. */
  readonly #inFlight = new Set<Batch>();
  #timer: NodeJS.Timeout | undefined;

  private constructor(store: CheckpointStore, mode: Config['checkpointMode'], periodMs: number, run: RunDir, schedule: (fn: () => void) => void) {
    this.#store = store;
    this.#mode = mode;
    this.#schedule = schedule;
    if (mode === 'task_exit') this.#writer = new CheckpointThread(run.checkpoint, { warn });
    if (mode === 'periodic') {
      this.#timer = setInterval(() => this.checkpoint(), periodMs);
      this.#timer.unref();
    }
  }

  /**
   * A checkpointer when the config writes or reads checkpoints, else undefined. `schedule`
   * runs a function in a DFK message of its own (the resolutions of a committed batch).
   */
  static open(config: Config, run: RunDir, schedule: (fn: () => void) => void): Checkpointer | undefined {
    if (config.checkpointMode === undefined && config.checkpointFiles.length === 0) return undefined;
    const store = CheckpointStore.open({
      path: config.checkpointMode === undefined ? undefined : run.checkpoint,
      checkpointFiles: config.checkpointFiles,
      // Writes happen when the mode says, not on the store's own timer.
      flushIntervalMs: 2 ** 30,
      batchSize: 2 ** 30,
    });
    return new Checkpointer(store, config.checkpointMode, config.checkpointPeriodMs, run, schedule);
  }

  /** A result of an earlier run (or of this run, once written). */
  get(key: string): CheckpointHit | undefined {
    return this.#store.get(key);
  }

  /**
   * A cached call's result. Returns true when its future must wait: `resolve` then runs in a
   * later message, once the batch that `commit()` posts is committed.
   */
  record(key: string, value: unknown, resolve: () => void): boolean {
    if (this.#mode === undefined) return false;
    if (this.#mode !== 'task_exit') {
      this.#held.set(key, value);
      return false;
    }
    let encoded: unknown;
    try {
      encoded = encodeValue(value, 'result');
    } catch (error) {
      warn(`a result is not checkpointed (it runs again in a later run): ${(error as Error).message}`);
      return false;
    }
    this.#keys.push(key);
    this.#values.push(encoded);
    this.#raw.push(value);
    this.#resolves.push(resolve);
    return true;
  }

  /**
   * `task_exit`: posts the results of this message as one batch; their futures resolve on its
   * commit. `durable` runs once this message's results are in the file (at once when there is
   * nothing to write or they were written here): the HTEX manager lets go of a block's results
   * only then (htex/let-go.ts), so a driver killed before the commit loses none of them.
   */
  commit(durable?: () => void): void {
    // Resolving may finish more cached calls in this message (their results then commit too).
    while (this.#keys.length > 0 && this.#writer !== undefined && !this.#writer.ready) this.#commitHere();
    if (this.#keys.length === 0 || this.#writer === undefined) {
      durable?.();
      return;
    }
    this.#raw = [];
    const batch: Batch = { resolves: this.#resolves, released: false };
    const keys = this.#keys;
    const values = this.#values;
    this.#keys = [];
    this.#values = [];
    this.#resolves = [];
    this.#inFlight.add(batch);
    this.#writer!.commit(keys, values, (error) => {
      // A failed commit is reported and its futures resolve all the same (as a failed write
      // always did): the results are right, only a later run computes them again.
      if (error) warn(`the checkpoint could not be written (${keys.length} results run again in a later run): ${error.message}`);
      this.#schedule(() => {
        this.#release(batch);
        durable?.();
      });
    });
  }

  /** Until the writer's thread is up: the results of this message committed now, then their futures resolved. */
  #commitHere(): void {
    const resolves = this.#resolves;
    for (let i = 0; i < this.#keys.length; i++) this.#put(this.#keys[i]!, this.#raw[i]);
    this.#keys = [];
    this.#values = [];
    this.#raw = [];
    this.#resolves = [];
    this.#flush();
    for (const resolve of resolves) resolve();
  }

  #release(batch: Batch): void {
    if (batch.released) return;
    batch.released = true;
    this.#inFlight.delete(batch);
    for (const resolve of batch.resolves) resolve();
  }

  /**
   * `task_exit`, at shutdown (inside the DFK's last message, so resolving here is safe): waits
   * until every batch posted is committed, closes the writer's thread and resolves their futures.
   */
  async settle(): Promise<void> {
    if (this.#writer === undefined) return;
    this.commit();
    await this.#writer.close();
    for (const batch of [...this.#inFlight]) this.#release(batch);
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

  /** At cleanup (after `settle()`): writes what is held and closes the files. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.checkpoint();
    this.#store.close();
  }

  #put(key: string, value: unknown): boolean {
    try {
      this.#store.put(key, value);
      return true;
    } catch (error) {
      warn(`a result is not checkpointed (it runs again in a later run): ${(error as Error).message}`);
      return false;
    }
  }

  #flush(): void {
    try {
      this.#store.flush();
    } catch (error) {
      warn(`the checkpoint could not be written: ${(error as Error).message}`);
    }
  }
}

function warn(message: string): void {
  process.emitWarning(message, { code: 'PARSL_TS_CHECKPOINT' });
}

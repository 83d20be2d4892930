import type { Worker } from 'node:worker_threads';
import { spawnEntryThread } from '../worker/spawn.ts';
import { entryUrl } from '../common/package-files.ts';
import { loadSqlite } from './checkpoint-file.ts';
import type { CheckpointThreadData, FromCheckpointThread, ToCheckpointThread } from './checkpoint-writer-thread.ts';

/** Threads not up yet: see `checkpointThreadsStarted`. */
const starting = new Set<Promise<void>>();

/** Resolves once every checkpoint writer's thread started so far is up (or has failed): for tests. */
export async function checkpointThreadsStarted(): Promise<void> {
  await Promise.all([...starting]);
}

/** Called once a batch is committed (`error` undefined) or could not be. */
export type CommitDone = (error: Error | undefined) => void;

/**
 * The main thread's side of the checkpoint writer's thread (see checkpoint-writer-thread.ts):
 * `commit` posts a batch (one structured clone for the batch) and calls `done` when the
 * thread has committed it. Batches are committed in the order they are posted.
 *
 * The thread starts at once (a thread's start costs ~50 ms from the built package and ~1 s
 * from the TypeScript sources: it is best paid during `load()`, not by the first results; the
 * file is still made on the first commit) and keeps the process alive only while a batch is in
 * flight: a script that awaits a future whose result is being committed does not exit under
 * it, and an idle writer never holds a finished script up. A thread that dies fails every
 * batch in flight and every later one (the caller reports it).
 */
export class CheckpointThread {
  readonly #data: CheckpointThreadData;
  readonly #warn: (message: string) => void;
  readonly #worker: Worker;
  readonly #inFlight = new Map<number, CommitDone>();
  #next = 0;
  #failure: Error | undefined;
  #ready = false;
  #closing: Promise<void> | undefined;

  constructor(path: string, options: { synchronous?: 'normal' | 'full'; warn: (message: string) => void }) {
    loadSqlite(); // a missing better-sqlite3 fails here, at load(), not in the thread
    this.#data = { path, synchronous: options.synchronous ?? 'normal' };
    this.#warn = options.warn;
    this.#worker = this.#start();
  }

  /**
   * Whether the thread is up. Until it is (a thread's start takes a second from the TypeScript
   * sources, more on a loaded machine), the caller commits on its own thread: results that a
   * resumed run finds waiting arrive at once, and are committed at once.
   */
  get ready(): boolean {
    return this.#ready;
  }

  /** Batches posted and not yet acknowledged. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Commits `values[i]` (made travel-safe by `encodeValue`) under `keys[i]` in one transaction. */
  commit(keys: string[], values: unknown[], done: CommitDone): void {
    if (this.#failure !== undefined || this.#closing !== undefined) {
      return done(this.#failure ?? new Error('the checkpoint writer is closed'));
    }
    const worker = this.#worker;
    const id = this.#next++;
    try {
      worker.postMessage({ type: 'commit', id, keys, values } satisfies ToCheckpointThread);
    } catch (error) {
      return done(error as Error); // a value structured clone refuses (encodeValue lets few through)
    }
    if (this.#inFlight.size === 0) worker.ref();
    this.#inFlight.set(id, done);
  }

  /** Waits for the batches in flight, then closes the database (folding the WAL into the file). */
  close(): Promise<void> {
    return (this.#closing ??= new Promise<void>((resolve) => {
      const worker = this.#worker;
      if (this.#failure !== undefined) return resolve();
      worker.ref();
      worker.once('exit', () => resolve());
      worker.postMessage({ type: 'close' } satisfies ToCheckpointThread);
    }));
  }

  #start(): Worker {
    const worker = spawnEntryThread(entryUrl('dataflow/checkpoint-writer-thread'), { workerData: this.#data });
    worker.unref();
    let up = (): void => {};
    const started = new Promise<void>((resolve) => (up = resolve)).finally(() => starting.delete(started));
    starting.add(started);
    worker.once('exit', up);
    worker.on('message', (msg: FromCheckpointThread) => {
      if (msg.type === 'warning') return this.#warn(msg.message);
      if (msg.type === 'ready') {
        this.#ready = true;
        return up();
      }
      if (msg.type === 'closed') return;
      const error = msg.error === undefined ? undefined : new Error(msg.error);
      for (const id of msg.ids) {
        const done = this.#inFlight.get(id);
        this.#inFlight.delete(id);
        done?.(error);
      }
      if (this.#inFlight.size === 0 && this.#closing === undefined) worker.unref();
    });
    const fail = (error: Error): void => {
      if (this.#failure !== undefined) return;
      this.#failure = error;
      const waiting = [...this.#inFlight.values()];
      this.#inFlight.clear();
      for (const done of waiting) done(error);
    };
    worker.on('error', (error) => fail(new Error(`the checkpoint writer of ${this.#data.path} failed: ${error.message}`)));
    worker.on('exit', (code) => {
      if (this.#inFlight.size > 0) fail(new Error(`the checkpoint writer of ${this.#data.path} exited (code ${code})`));
    });
    return worker;
  }
}

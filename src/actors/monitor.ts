import { spawnBehaviour, type Behaviour, type Ref } from './actor.ts';
import type { MonitoringEvent } from '../monitoring/events.ts';
import { decodeBatch, transferList, type CompactBatch } from '../monitoring/compact.ts';
import type { MonitoringWriterStats } from '../monitoring/writer.ts';
import type { ToWriterThread } from '../monitoring/writer-thread.ts';
import { spawnEntryThread } from '../worker/spawn.ts';
import { entryUrl } from '../common/package-files.ts';
import type { Worker } from 'node:worker_threads';

/**
 * The writer's thread: events are posted to it in the DFK's batches (one structured clone per
 * batch); `close()` resolves with its writer's stats once everything is committed.
 */
class WriterThread {
  readonly #worker: Worker;
  #closed: Promise<MonitoringWriterStats | undefined> | undefined;
  #failure: Error | undefined;

  constructor(path: string) {
    this.#worker = spawnEntryThread(entryUrl('monitoring/writer-thread'), { workerData: { path } });
    // A monitoring thread never keeps a run's process alive; close() holds it while it finishes.
    this.#worker.unref();
    this.#worker.on('error', (error) => {
      this.#failure = error;
      process.emitWarning(`monitoring: the writer of ${path} failed: ${error.message}`, { code: 'PARSL_TS_MONITORING_ERROR' });
    });
  }

  write(events: MonitoringEvent[]): void {
    if (this.#failure === undefined) this.#worker.postMessage({ type: 'events', events } satisfies ToWriterThread);
  }

  /** Posts a compact batch; its numbers are transferred, not copied. */
  writeCompact(batch: CompactBatch): void {
    if (this.#failure === undefined) this.#worker.postMessage({ type: 'compact', batch } satisfies ToWriterThread, transferList(batch));
  }

  close(): Promise<MonitoringWriterStats | undefined> {
    return (this.#closed ??= new Promise((resolve) => {
      if (this.#failure !== undefined) return resolve(undefined);
      this.#worker.ref();
      this.#worker.on('message', (msg: { type: 'closed'; stats: MonitoringWriterStats }) => resolve(msg.stats));
      this.#worker.on('exit', () => resolve(undefined));
      this.#worker.postMessage({ type: 'close' } satisfies ToWriterThread);
    }));
  }
}

/** Messages the monitoring actor handles: the DFK sends one `events` per message it handled. */
export type ToMonitor =
  | { type: 'events'; events: MonitoringEvent[] }
  /** The DFK's events of one message, in compact form. */
  | { type: 'compact'; batch: CompactBatch }
  /** The last events are written (the workflow's end); `done` once they are committed. */
  | { type: 'close'; done: () => void };

/** The monitoring actor's name under the DFK (not an executor label: the DFK tells them apart by it). */
export const MONITOR_ACTOR_NAME = '_monitoring_';

/** Test hook: the monitoring actor throws this many times, halfway through a batch. */
let crashesRequested = 0;
export function crashMonitorForTest(times = 1): void {
  crashesRequested += times;
}

/**
 * What outlives a restart: the batch being written when the actor crashed (and how much of it
 * reached the writer), so that the new state writes the rest and nothing is lost; and the
 * events the writers failed to commit, which the new state reports.
 */
interface Carry {
  batch: MonitoringEvent[] | undefined;
  written: number;
  lost: number;
  restarts: number;
}

/**
 * Owns the one `MonitoringWriter` of a run: the DFK sends it the events of each message it
 * handled, in one batch. A crash here never fails a task (the DFK only restarts this actor);
 * the restarted state opens the database again, writes what was left of the batch it crashed
 * on, and says how many events were lost (commits that failed).
 */
class Monitor implements Behaviour<ToMonitor> {
  readonly #path: string;
  readonly #carry: Carry;
  #writer: WriterThread | undefined;

  constructor(path: string, carry: Carry) {
    this.#path = path;
    this.#carry = carry;
  }

  started(): void {
    this.#writer = new WriterThread(this.#path);
    const carry = this.#carry;
    if (carry.restarts === 0) return;
    const rest = carry.batch?.slice(carry.written) ?? [];
    carry.batch = undefined;
    if (rest.length > 0) this.#writer.write(rest);
    process.emitWarning(
      `the monitoring actor was restarted (${carry.restarts} time(s)); ${carry.lost} monitoring event(s) lost`,
      { code: 'PARSL_TS_MONITORING_RESTARTED' },
    );
  }

  async receive(msg: ToMonitor): Promise<void> {
    const writer = this.#writer!;
    if (msg.type === 'close') {
      await this.#close();
      msg.done();
      return;
    }
    if (msg.type === 'compact') {
      if (crashesRequested === 0) return writer.writeCompact(msg.batch);
      // The test hook splits batches of events: this one is decoded for it.
      const events: MonitoringEvent[] = [];
      decodeBatch(msg.batch, (e) => events.push(e));
      return this.receive({ type: 'events', events });
    }
    const carry = this.#carry;
    carry.batch = msg.events;
    carry.written = 0;
    if (crashesRequested > 0) {
      // Half the batch reaches the writer, then the crash: the restarted state writes the rest.
      crashesRequested--;
      carry.written = Math.floor(msg.events.length / 2);
      writer.write(msg.events.slice(0, carry.written));
      throw new Error('monitoring actor: crash asked for by a test');
    }
    writer.write(msg.events);
    carry.batch = undefined;
  }

  async #close(): Promise<void> {
    const writer = this.#writer;
    this.#writer = undefined;
    if (!writer) return;
    const stats = await writer.close();
    this.#carry.lost += stats?.lost ?? 0;
  }

  async stopped(reason: 'stop' | 'restart'): Promise<void> {
    await this.#close();
    if (reason === 'restart') this.#carry.restarts++;
    else if (this.#carry.lost > 0) process.emitWarning(`monitoring: ${this.#carry.lost} event(s) lost`, { code: 'PARSL_TS_MONITORING_LOST' });
  }
}

/** Spawns the monitoring actor under the DFK; it writes to the database at `path`. */
export function spawnMonitor(parent: Ref<unknown>, path: string): Ref<ToMonitor> {
  const carry: Carry = { batch: undefined, written: 0, lost: 0, restarts: 0 };
  return spawnBehaviour<ToMonitor, Monitor>(parent, MONITOR_ACTOR_NAME, () => new Monitor(path, carry));
}

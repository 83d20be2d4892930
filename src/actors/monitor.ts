import { spawnBehaviour, type Behaviour, type Ref } from './actor.ts';
import type { MonitoringEvent } from '../monitoring/events.ts';
import { MonitoringWriter } from '../monitoring/writer.ts';

/** Messages the monitoring actor handles: the DFK sends one `events` per message it handled. */
export type ToMonitor =
  | { type: 'events'; events: MonitoringEvent[] }
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
  #writer: MonitoringWriter | undefined;

  constructor(path: string, carry: Carry) {
    this.#path = path;
    this.#carry = carry;
  }

  started(): void {
    this.#writer = MonitoringWriter.open(this.#path);
    const carry = this.#carry;
    if (carry.restarts === 0) return;
    const rest = carry.batch?.slice(carry.written) ?? [];
    carry.batch = undefined;
    for (const event of rest) this.#writer.write(event);
    process.emitWarning(
      `the monitoring actor was restarted (${carry.restarts} time(s)); ${carry.lost} monitoring event(s) lost`,
      { code: 'PARSL_TS_MONITORING_RESTARTED' },
    );
  }

  receive(msg: ToMonitor): void {
    const writer = this.#writer!;
    if (msg.type === 'close') {
      writer.flush();
      msg.done();
      return;
    }
    const carry = this.#carry;
    carry.batch = msg.events;
    carry.written = 0;
    const crashAt = crashesRequested > 0 ? Math.floor(msg.events.length / 2) : -1;
    for (const event of msg.events) {
      if (carry.written === crashAt) {
        crashesRequested--;
        throw new Error('monitoring actor: crash asked for by a test');
      }
      writer.write(event);
      carry.written++;
    }
    carry.batch = undefined;
  }

  stopped(reason: 'stop' | 'restart'): void {
    const writer = this.#writer;
    this.#writer = undefined;
    if (!writer) return;
    try {
      writer.close();
    } catch (error) {
      process.emitWarning(`monitoring: closing ${this.#path} failed: ${(error as Error).message}`);
    }
    this.#carry.lost += writer.stats.lost;
    if (reason === 'restart') this.#carry.restarts++;
    else if (this.#carry.lost > 0) process.emitWarning(`monitoring: ${this.#carry.lost} event(s) lost`, { code: 'PARSL_TS_MONITORING_LOST' });
  }
}

/** Spawns the monitoring actor under the DFK; it writes to the database at `path`. */
export function spawnMonitor(parent: Ref<unknown>, path: string): Ref<ToMonitor> {
  const carry: Carry = { batch: undefined, written: 0, lost: 0, restarts: 0 };
  return spawnBehaviour<ToMonitor, Monitor>(parent, MONITOR_ACTOR_NAME, () => new Monitor(path, carry));
}

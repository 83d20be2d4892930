/**
 * Scaling an HTEX executor in: a registered block is told to drain (it finishes what it holds,
 * takes nothing new and exits), and its job is cancelled at the end of drainPeriod if it has
 * not exited by then. The timers are kept so that the manager's stop clears them, and no
 * cancel reaches a block actor of a run that has ended.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { encodeJson, type Subjects } from '../../nats/protocol.ts';
import { send } from '../actor.ts';
import type { BlockEntry } from './block-table.ts';

export class Drains {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #periodMs: number;

  constructor(drainPeriodMs: number) {
    this.#periodMs = drainPeriodMs;
  }

  /** Drains `block` (registered): cancelled after the drain period if it has not exited. */
  drain(block: BlockEntry, nc: NatsConnection, subjects: Subjects): void {
    block.life.to('draining');
    nc.publish(subjects.blockControl(block.life.blockId), encodeJson({ type: 'drain' }));
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      send(block.ref, { type: 'cancel', done: () => {} });
    }, this.#periodMs);
    timer.unref();
    this.#timers.add(timer);
  }

  /** Ends the waits: no block is cancelled for its drain any more. */
  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

/**
 * The HTEX manager's table of its blocks: each block's actor, its life (block-phase.ts), how
 * often its actor crashed and its workers' last samples. Kept apart from the manager so that
 * the counts the strategy, the placement and the dispatch read (live blocks, workers,
 * registered blocks) are computed in one place, and so is what tests see of a block (`info`).
 */
import { send, type Ref } from '../actor.ts';
import type { ToBlockActor } from '../block.ts';
import type { WorkerSampleMessage } from '../../nats/protocol.ts';
import type { BlockLife } from './block-phase.ts';
import type { BlockInfo } from './messages.ts';

/** One block of the table. */
export interface BlockEntry {
  ref: Ref<ToBlockActor>;
  life: BlockLife;
  /** Times its actor crashed (the manager stops it after a few). */
  crashes: number;
  /** Its workers' memory and busy time, from its last heartbeat. */
  samples?: WorkerSampleMessage[] | undefined;
}

export class BlockTable {
  readonly #blocks = new Map<string, BlockEntry>();
  /** Whose turn it is among the registered blocks, for batches sent straight to a block. */
  #directTurn = 0;

  add(life: BlockLife, ref: Ref<ToBlockActor>): void {
    this.#blocks.set(life.blockId, { ref, life, crashes: 0 });
  }

  get(blockId: string): BlockEntry | undefined {
    return this.#blocks.get(blockId);
  }

  /** The block whose actor is `actor` (a crashed child, as its supervisor sees it), if it is one of this table's. */
  ofActor(actor: Ref<unknown>): BlockEntry | undefined {
    const name = (actor as { name?: string }).name;
    for (const block of this.#blocks.values()) if ((block.ref as { name?: string }).name === name) return block;
    return undefined;
  }

  /** Whether `blockId` was started by this manager (not by an earlier driver of a resumed run). */
  has(blockId: string): boolean {
    return this.#blocks.has(blockId);
  }

  /**
   * A block's heartbeat: its samples and whether it is idle are noted, and its actor (which
   * watches for silence) is told. False when the block is not ours (an earlier driver's).
   */
  heartbeat(blockId: string, inFlight: number, workers: WorkerSampleMessage[] | undefined): boolean {
    const block = this.#blocks.get(blockId);
    if (!block) return false;
    if (workers) block.samples = workers;
    if (inFlight > 0) block.life.idleSince = undefined;
    else block.life.idleSince ??= Date.now();
    send(block.ref, { type: 'heartbeat' });
    return true;
  }

  /** Whether `blockId` is one of ours and live (submitting, pending or registered). */
  isLive(blockId: string): boolean {
    return this.#blocks.get(blockId)?.life.live === true;
  }

  lives(): BlockLife[] {
    return [...this.#blocks.values()].map((b) => b.life);
  }

  /** Blocks that are submitting, pending or registered. */
  get liveCount(): number {
    let n = 0;
    for (const { life } of this.#blocks.values()) if (life.live) n++;
    return n;
  }

  /** Workers of the live blocks (those not registered yet count none). */
  get liveWorkers(): number {
    let n = 0;
    for (const { life } of this.#blocks.values()) if (life.live) n += life.workers;
    return n;
  }

  /** Workers of the registered blocks: the slots told to the DFK's placement. */
  get registeredWorkers(): number {
    let n = 0;
    for (const { life } of this.#blocks.values()) if (life.phase === 'registered') n += life.workers;
    return n;
  }

  /** Ids of the registered blocks. */
  registered(): string[] {
    return [...this.#blocks].filter(([, b]) => b.life.phase === 'registered').map(([id]) => id);
  }

  /** Registered blocks in turn, for batches sent straight to a block. */
  nextDirect(): string | undefined {
    const registered = this.registered();
    if (registered.length === 0) return undefined;
    return registered[this.#directTurn++ % registered.length];
  }

  /** What is known of each block; `held` counts the tries each is known to hold. */
  info(held: ReadonlyMap<string, number>): BlockInfo[] {
    return [...this.#blocks].map(([blockId, { life, samples }]) => ({
      blockId,
      phase: life.phase,
      live: life.live,
      workers: life.workers,
      host: life.host,
      pid: life.pid,
      held: held.get(blockId) ?? 0,
      idleSince: life.idleSince,
      samples,
    }));
  }
}

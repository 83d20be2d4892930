/**
 * A block's life: its phase and what is known of its job and its block manager. One
 * `BlockLife` per block, made by the HTEX manager when it starts the block and shared with the
 * block's actor (both run in this thread, one message at a time). It is the only place a
 * block's phase is kept; every change goes through `to`, which refuses a change the table
 * below does not allow with an `IllegalStateError`.
 *
 * ```
 *  submitting ──job id (block actor)──────────────▶ pending
 *  submitting, pending ──registration (manager)───▶ registered
 *  registered ──scale in (manager)────────────────▶ draining
 *  any live phase or draining ──(block actor)─────▶ lost       submit failed, registration refused,
 *                                                              job ended, heartbeats stopped
 *  any live phase or draining ──(block actor, or  ▶ cancelled  shutdown, end of the drain period,
 *       the manager at its stop)                               a stop of the block actor
 * ```
 * `lost` and `cancelled` are final. A block is *live* (counts for scaling and gets tasks)
 * while submitting, pending or registered.
 */
import { IllegalStateError } from '../../common/errors.ts';
import { PACKAGE_VERSION } from '../../common/version.ts';
import { PROTOCOL_VERSION, type Registration } from '../../nats/protocol.ts';
import type { ScalingSnapshot } from '../strategy.ts';

/** Where a block is in its life. */
export type BlockPhase =
  /** The provider has been asked for a job; no job id yet. */
  | 'submitting'
  /** The job exists; its block manager has not registered yet. */
  | 'pending'
  /** Its block manager registered and heartbeats. */
  | 'registered'
  /** Told to finish what it holds and exit (scaled in); cancelled at the end of drainPeriod. */
  | 'draining'
  /** Gone on its own: never started, refused, its job ended, or it stopped heartbeating. */
  | 'lost'
  /** Cancelled by the executor. */
  | 'cancelled';

const NEXT: Record<BlockPhase, readonly BlockPhase[]> = {
  submitting: ['pending', 'registered', 'lost', 'cancelled'],
  pending: ['registered', 'lost', 'cancelled'],
  registered: ['draining', 'lost', 'cancelled'],
  draining: ['lost', 'cancelled'],
  lost: [],
  cancelled: [],
};

/** The phase and facts of one block. */
export class BlockLife {
  readonly blockId: string;
  #phase: BlockPhase = 'submitting';
  /** The provider was asked for a job (a restarted block actor must not ask again). */
  jobRequested = false;
  /** The provider's job id, once it answered. */
  jobId: string | undefined;
  /** Workers its block manager runs, once registered. */
  workers = 0;
  /** When it last had no task in flight; undefined while busy. */
  idleSince: number | undefined;
  /** Where its block manager runs, once registered. */
  host: string | undefined;
  pid: number | undefined;
  /** Told after each change of phase (the monitoring database records it). */
  onPhase: ((life: BlockLife) => void) | undefined;

  constructor(blockId: string) {
    this.blockId = blockId;
  }

  get phase(): BlockPhase {
    return this.#phase;
  }

  /** Submitting, pending or registered: counts for scaling and may get tasks. */
  get live(): boolean {
    return this.#phase === 'submitting' || this.#phase === 'pending' || this.#phase === 'registered';
  }

  /** Lost or cancelled: nothing more happens to it. */
  get ended(): boolean {
    return this.#phase === 'lost' || this.#phase === 'cancelled';
  }

  /** Moves to `next`; throws `IllegalStateError` for a change the table does not allow. */
  to(next: BlockPhase): void {
    if (!NEXT[this.#phase].includes(next)) {
      throw new IllegalStateError(`block ${this.blockId} cannot go from ${this.#phase} to ${next}`);
    }
    this.#phase = next;
    this.onPhase?.(this);
  }
}

/** What the strategy sees of these blocks: the live ones, and the slots a block has (or `guess` before any registered). */
export function scalingSnapshot(lives: Iterable<BlockLife>, outstandingTasks: number, guess: number): ScalingSnapshot {
  const blocks: ScalingSnapshot['blocks'] = [];
  let registeredSlots = 0;
  let registered = 0;
  for (const life of lives) {
    if (!life.live) continue;
    const isRegistered = life.phase === 'registered';
    blocks.push({ blockId: life.blockId, registered: isRegistered, idleSince: isRegistered ? life.idleSince : undefined });
    if (isRegistered) {
      registered++;
      registeredSlots += life.workers;
    }
  }
  const slotsPerBlock = registered > 0 ? registeredSlots / registered : guess;
  return { outstandingTasks, blocks, slotsPerBlock, now: Date.now() };
}

/** Why a block of another version may not register, or undefined when the versions match. */
export function versionMismatch(registration: Registration): string | undefined {
  if (registration.protocolVersion === PROTOCOL_VERSION && registration.packageVersion === PACKAGE_VERSION) return undefined;
  return (
    `version mismatch: the DFK runs parsl-ts ${PACKAGE_VERSION} (protocol ${PROTOCOL_VERSION}), block ` +
    `${registration.blockId} on ${registration.host} runs parsl-ts ${registration.packageVersion} ` +
    `(protocol ${registration.protocolVersion}); install the same version on both sides`
  );
}

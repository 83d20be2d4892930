/**
 * The HTEX manager's answer to a block manager that registers: refused for another parsl-ts
 * version, or when its block was given up on; otherwise its block becomes registered and it is
 * told the heartbeat timings (and the resource sampling interval when monitoring is on). Kept
 * apart because the order matters and is easy to break: the placement hears of the block's
 * workers before anyone can see it registered.
 */
import { send } from '../actor.ts';
import type { Registration, RegistrationReply } from '../../nats/protocol.ts';
import { versionMismatch } from './block-phase.ts';
import type { BlockEntry } from './block-table.ts';

/** What the answer needs of the manager. */
export interface RegistrationContext {
  heartbeatPeriodMs: number;
  heartbeatThresholdMs: number;
  /** Set when monitoring records resource samples. */
  resourceMonitoringIntervalMs: number | undefined;
  /** Tells the DFK's placement the executor's capacity (site-link.ts). */
  tellCapacity: () => void;
  /** Records the block's registration, when monitoring is on. */
  recordRegistration: (registration: Registration) => void;
}

/**
 * Answers `registration` of `block` (undefined for a block that is not this manager's: an
 * earlier driver's, in a resumed run, which is let in to finish what it holds).
 */
export function answerRegistration(
  registration: Registration,
  block: BlockEntry | undefined,
  respond: (reply: RegistrationReply) => void,
  context: RegistrationContext,
): void {
  const error = versionMismatch(registration);
  if (error) {
    process.emitWarning(error, { code: 'PARSL_TS_VERSION_MISMATCH' });
    respond({ ok: false, error });
    if (block) send(block.ref, { type: 'refused', reason: error });
    return;
  }
  if (block) {
    const { life } = block;
    if (life.phase === 'submitting' || life.phase === 'pending') {
      life.workers = registration.workers;
      life.idleSince = Date.now();
      life.host = registration.host;
      life.pid = registration.pid;
      life.to('registered');
      context.tellCapacity(); // before anyone can see the block registered: placement counts its workers
      context.recordRegistration(registration);
      send(block.ref, { type: 'registered' });
    } else if (life.phase !== 'registered') {
      // Given up on (lost, cancelled, draining): it must not take work.
      respond({ ok: false, error: `block ${life.blockId} is ${life.phase}` });
      return;
    }
  }
  const { resourceMonitoringIntervalMs } = context;
  respond({
    ok: true,
    heartbeatPeriodMs: context.heartbeatPeriodMs,
    heartbeatThresholdMs: context.heartbeatThresholdMs,
    ...(resourceMonitoringIntervalMs === undefined ? {} : { resourceMonitoringIntervalMs }),
  });
}

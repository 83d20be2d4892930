/**
 * The messages of the HTEX manager actor, and what it tells of its blocks.
 */
import type { ToExecutor } from '../messages.ts';
import type { FromBlockActor } from '../block.ts';
import type { FromStrategy } from '../strategy.ts';
import type { BlockReport, Registration, RegistrationReply, WorkerSampleMessage } from '../../nats/protocol.ts';
import type { Connected } from './nats-setup.ts';
import type { BlockPhase } from './block-phase.ts';

/**
 * Messages the HTEX manager handles. Those that come from its own NATS side or from its block
 * actors carry the `run` they belong to: after a restart, what the previous state's connection
 * or blocks still deliver is dropped, not mistaken for the new run's.
 */
export type ToHtex =
  | ToExecutor
  | FromBlockActor
  | FromStrategy
  | { type: 'started'; run: string; connected: Connected }
  /** The embedded server is up and how blocks log in is known: blocks may start (they boot while the manager connects). */
  | { type: 'start-failed'; run: string; error: unknown }
  | { type: 'report'; run: string; report: BlockReport; ack: () => void }
  | { type: 'register'; run: string; registration: Registration; respond: (reply: RegistrationReply) => void }
  | { type: 'heartbeat'; run: string; blockId: string; inFlight: number; workers: WorkerSampleMessage[] | undefined }
  | { type: 'direct-accepted'; run: string; blockId: string; tasks: Array<{ taskId: number; attempt: number }> }
  | { type: 'tick' }
  /** A site's executor: time to see whether the site is in reach; `contact`: it answered. */
  | { type: 'site-check'; run: string }
  | { type: 'site-contact'; run: string }
  /** A resumed run: whether the work queue and the results stream are empty, for the tries it adopts (htex/adopt.ts). */
  | { type: 'adopt-check'; run: string; queuesEmpty: boolean }
  /** A block asks which tries of a batch delivered again are still wanted. */
  | { type: 'wanted'; run: string; blockId: string; tries: Array<{ taskId: number; attempt: number }>; respond: (wanted: Array<{ taskId: number; attempt: number }>) => void };

/** What the executor knows of one of its blocks. */
export interface BlockInfo {
  blockId: string;
  phase: BlockPhase;
  /** Submitting, pending or registered. */
  live: boolean;
  workers: number;
  host: string | undefined;
  pid: number | undefined;
  /** Tries the executor knows this block holds (claimed or taken straight). */
  held: number;
  /** When it last had no task in flight; undefined while busy. */
  idleSince: number | undefined;
  /** Memory and busy time of each worker thread, from the block's last heartbeat. */
  samples: WorkerSampleMessage[] | undefined;
}

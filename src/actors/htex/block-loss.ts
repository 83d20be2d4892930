/**
 * What the HTEX manager does when a block is lost: the tries it held fail with `ManagerLost`
 * (the DFK retries them elsewhere), and blocks that keep failing to start stop the scaling of
 * the executor, so that tasks fail with a `BlockStartError` that points at the submit scripts
 * rather than wait forever for a block that never comes. A block actor that keeps crashing
 * is given up on the same way. Kept apart: these rules decide when a run gives up.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { BlockStartError, ManagerLost } from '../../common/errors.ts';
import type { Subjects } from '../../nats/protocol.ts';
import { send, type Ref } from '../actor.ts';
import type { FromExecutor, TaskOutcome } from '../messages.ts';
import type { BlockTable } from './block-table.ts';
import type { ToHtex } from './messages.ts';
import type { TryLedger } from './tries.ts';

/** Blocks that fail to start this many times in a row stop the scaling of their executor. */
const MAX_START_FAILURES = 3;
/** A block actor that crashes this many times is stopped (its job cancelled) and its block lost. */
const MAX_BLOCK_ACTOR_CRASHES = 3;

export interface BlockLossOptions {
  label: string;
  /** The manager state's run id, on the losses it sends itself (block.ts: FromBlockActor). */
  run: string;
  self: Ref<ToHtex>;
  dfk: Ref<FromExecutor>;
  blocks: BlockTable;
  tries: TryLedger;
  subjects: Subjects;
  /** The run's JetStream manager, once NATS is up. */
  jsm: () => JetStreamManager | undefined;
  /** Tells the DFK's placement the executor's capacity (site-link.ts). */
  tellCapacity: () => void;
}

export class BlockLoss {
  readonly #options: BlockLossOptions;
  /** Blocks in a row that were lost before they registered. */
  #startFailures = 0;
  #scalingError: BlockStartError | undefined;

  constructor(options: BlockLossOptions) {
    this.#options = options;
  }

  /** Set once blocks keep failing to start: no more blocks are submitted, tasks fail with it. */
  get scalingError(): BlockStartError | undefined {
    return this.#scalingError;
  }

  /** A block registered: the failures to start are no longer in a row. */
  registered(): void {
    this.#startFailures = 0;
  }

  /**
   * A block actor crashed: it is restarted and takes over its job. One that keeps crashing
   * is stopped (which cancels its job) and its block is lost.
   */
  actorCrashed(child: Ref<unknown>, error: Error | undefined): 'restart' | 'stop' {
    const block = this.#options.blocks.ofActor(child);
    if (!block || ++block.crashes < MAX_BLOCK_ACTOR_CRASHES) return 'restart';
    const { blockId } = block.life;
    send(this.#options.self, { type: 'block-lost', run: this.#options.run, blockId, reason: `its actor crashed ${block.crashes} times; last: ${error?.message ?? 'unknown error'}` });
    return 'stop';
  }

  /**
   * A block is gone (its actor set its phase): the tries it held fail with `ManagerLost`,
   * whatever its phase was (a drained block cancelled at the end of drainPeriod included).
   */
  lost(blockId: string, reason: string, graceful: boolean): void {
    const { label, blocks, tries, dfk, subjects } = this.#options;
    const block = blocks.get(blockId);
    if (!block) return;
    if (!graceful) process.emitWarning(`block ${blockId} of executor '${label}' is lost: ${reason}`, { code: 'PARSL_TS_BLOCK_LOST' });
    if (block.life.pid === undefined && ++this.#startFailures >= MAX_START_FAILURES && !this.#scalingError) {
      this.#stopScaling(new BlockStartError(label, this.#startFailures, reason));
    }
    const withdrawn = tries.withdraw(blockId);
    // Its batches would otherwise come back to another block when their ack wait ends.
    for (const seq of withdrawn.seqs) void this.#options.jsm()?.streams.deleteMessage(subjects.taskStream, seq).catch(() => {});
    const outcomes: TaskOutcome[] = withdrawn.tries.map((t) => ({ ...t, ok: false, error: new ManagerLost(blockId, reason) }));
    if (outcomes.length > 0) send(dfk, { type: 'results', outcomes });
    this.#options.tellCapacity();
  }

  /** Blocks keep failing to start: stop submitting, and fail what waits rather than leave it hanging. */
  #stopScaling(error: BlockStartError): void {
    this.#scalingError = error;
    process.emitWarning(error.message, { code: 'PARSL_TS_SCALING_STOPPED' });
    const outcomes: TaskOutcome[] = this.#options.tries.clear().map((t) => ({ ...t, ok: false, error }));
    void this.#options.jsm()?.streams.purge(this.#options.subjects.taskStream).catch(() => {});
    if (outcomes.length > 0) send(this.#options.dfk, { type: 'results', outcomes });
  }
}

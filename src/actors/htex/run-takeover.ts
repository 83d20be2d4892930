/**
 * The HTEX manager's side of resumed runs (adopt.ts tells the whole story): the run id and
 * block ids it keeps in `htex.json` so that a later driver can take the run over, and, in a
 * resumed run, what it does with the blocks and tries the driver before left. Kept out of the
 * manager so that its message switch only says when each of these happens.
 */
import { randomBytes } from 'node:crypto';
import { encodeJson, type Subjects } from '../../nats/protocol.ts';
import type { ServerPlace } from './embedded-server.ts';
import { Adoption, nextBlockNumber, takeRunState, type HtexRunState } from './adopt.ts';
import { queuesEmpty, saveRunState } from './adopt-nats.ts';
import type { Connected } from './nats-setup.ts';
import type { TryLedger, TryRef } from './tries.ts';
import type { BlockTable } from './block-table.ts';

export class RunTakeover {
  /** The run's subjects and streams are named after it; a resumed run keeps the one before. */
  readonly runId: string;
  /** The journal of tries, and the earlier drivers' tries still to adopt. */
  readonly adoption: Adoption;
  /** Where the embedded server keeps its store, and this run's adoption files. */
  readonly #storeDir: string;
  /** What the driver before left, in a resumed run. */
  readonly #resumed: HtexRunState | undefined;
  /** Every block id of the run directory, earlier drivers' included. */
  readonly #allBlocks: string[];
  #nextBlock: number;

  constructor(context: { resumed?: boolean | undefined }, storeDir: string, heartbeatThresholdMs: number) {
    this.#storeDir = storeDir;
    this.#resumed = takeRunState(context, storeDir);
    this.#allBlocks = [...(this.#resumed?.blocks ?? [])];
    this.#nextBlock = nextBlockNumber(this.#allBlocks);
    this.adoption = new Adoption(storeDir, this.#resumed !== undefined, this.#allBlocks, heartbeatThresholdMs);
    // A resumed run keeps its run id: the blocks that outlived the driver before use its subjects.
    this.runId = this.#resumed?.runId ?? randomBytes(6).toString('hex');
  }

  /** A resumed run: where and with which login the driver before ran the embedded server. */
  get server(): (ServerPlace & { user: string; password: string }) | undefined {
    return this.#resumed && { ...this.#resumed, pid: this.#resumed.serverPid };
  }

  /** The id of a new block, after every block id of the run's drivers; saved with them once connected. */
  newBlock(connected: Connected | undefined): string {
    const blockId = String(this.#nextBlock++);
    this.#allBlocks.push(blockId);
    this.save(connected);
    return blockId;
  }

  /** Writes what a resumed driver needs to take this run over (once NATS is up). */
  save(connected: Connected | undefined): void {
    if (connected) saveRunState(this.#storeDir, this.runId, connected, this.#allBlocks);
  }

  /** Blocks of earlier drivers (not ours to cancel), for the manager's stop to tell them to end. */
  earlierBlocks(ours: BlockTable): string[] {
    return this.#allBlocks.filter((blockId) => !ours.has(blockId));
  }

  /** A block that is not ours beat: one of the driver before, told to drain the first time (it finishes what it holds, ours take the new work). */
  foreignHeartbeat(blockId: string, connected: Connected | undefined, subjects: Subjects): void {
    if (this.adoption.heartbeat(blockId)) connected?.nc.publish(subjects.blockControl(blockId), encodeJson({ type: 'drain' }));
  }

  /**
   * The tries of a batch JetStream handed out again to `asker` that are to run there: those
   * waited for (this driver's, or an earlier one's: adopt.ts) that no other live block is known to hold.
   */
  wanted(tries: TryRef[], asker: string, ledger: TryLedger, blocks: BlockTable): TryRef[] {
    const live = (blockId: string): boolean => blocks.isLive(blockId);
    return tries.filter(({ taskId, attempt }) => {
      if (ledger.isOutstanding(taskId, attempt)) {
        const holder = ledger.holder(taskId, attempt);
        return holder === undefined || holder === asker || !live(holder);
      }
      return this.adoption.isWanted(taskId, attempt, asker, live);
    });
  }

  /** Asks whether anything is left in the work queue or unread in the results stream, for the tries adopted; `answer` gets it. */
  check(connected: Connected, subjects: Subjects, answer: (empty: boolean) => void): void {
    queuesEmpty(connected.jsm, subjects).then(answer, () => {});
  }
}

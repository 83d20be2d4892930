/**
 * The HTEX manager's ledger of task tries: which are published and not reported (the work
 * the strategy scales for), and which a block is known to hold (so that they fail with
 * `ManagerLost` if that block is lost).
 */

/** A try a block holds: claimed from the work queue (with its batch's sequence) or taken straight. */
interface Held {
  attempt: number;
  blockId: string;
  seq: number | undefined;
}

export interface TryRef {
  taskId: number;
  attempt: number;
}

export class TryLedger {
  /** Tries published and not reported, by task id. */
  readonly #outstanding = new Map<number, number>();
  /** Tries a block has claimed and not reported, by task id. */
  readonly #held = new Map<number, Held>();

  /** Tries published and not yet reported. */
  get outstanding(): number {
    return this.#outstanding.size;
  }

  /** Whether this try is published and not yet reported. */
  isOutstanding(taskId: number, attempt: number): boolean {
    return this.#outstanding.get(taskId) === attempt;
  }

  /** The block known to hold this try, if any. */
  holder(taskId: number, attempt: number): string | undefined {
    const held = this.#held.get(taskId);
    return held?.attempt === attempt ? held.blockId : undefined;
  }

  published(tries: Iterable<TryRef>): void {
    for (const { taskId, attempt } of tries) this.#outstanding.set(taskId, attempt);
  }

  /** A block claimed a batch it pulled from the work queue. */
  claimed(blockId: string, seq: number, tries: Iterable<TryRef>): void {
    for (const { taskId, attempt } of tries) this.#held.set(taskId, { attempt, blockId, seq });
  }

  /** A block took a batch offered straight to it (unless a result came first). */
  accepted(blockId: string, tries: Iterable<TryRef>): void {
    for (const { taskId, attempt } of tries) {
      if (this.#outstanding.get(taskId) === attempt) this.#held.set(taskId, { attempt, blockId, seq: undefined });
    }
  }

  /** Results came back for these tries. */
  reported(tries: Iterable<TryRef>): void {
    for (const { taskId, attempt } of tries) this.#settle(taskId, attempt);
  }

  /**
   * Takes back every try `blockId` held: returns them, and the work-queue sequences of their
   * batches (to delete, or they would come back to another block when their ack wait ends).
   */
  withdraw(blockId: string): { tries: TryRef[]; seqs: number[] } {
    const tries: TryRef[] = [];
    const seqs = new Set<number>();
    for (const [taskId, held] of this.#held) {
      if (held.blockId !== blockId) continue;
      tries.push({ taskId, attempt: held.attempt });
      if (held.seq !== undefined) seqs.add(held.seq);
      this.#settle(taskId, held.attempt);
    }
    return { tries, seqs: [...seqs] };
  }

  /**
   * Forgets a cancelled try. Returns the block that holds it (as a list of one), undefined
   * when no block is known to (it may be in the work queue), or false when it is not
   * outstanding (reported already, or an older try).
   */
  cancel(taskId: number, attempt: number): string[] | undefined | false {
    if (this.#outstanding.get(taskId) !== attempt) return false;
    const held = this.#held.get(taskId);
    this.#settle(taskId, attempt);
    return held?.attempt === attempt ? [held.blockId] : undefined;
  }

  /** Forgets every try and returns those outstanding (scaling stopped: they all fail). */
  clear(): TryRef[] {
    const all = [...this.#outstanding].map(([taskId, attempt]) => ({ taskId, attempt }));
    this.#outstanding.clear();
    this.#held.clear();
    return all;
  }

  /** How many tries each block is known to hold. */
  heldByBlock(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { blockId } of this.#held.values()) counts.set(blockId, (counts.get(blockId) ?? 0) + 1);
    return counts;
  }

  #settle(taskId: number, attempt: number): void {
    if (this.#held.get(taskId)?.attempt === attempt) this.#held.delete(taskId);
    if (this.#outstanding.get(taskId) === attempt) this.#outstanding.delete(taskId);
  }
}

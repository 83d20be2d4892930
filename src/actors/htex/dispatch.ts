/**
 * How the HTEX manager hands task batches to blocks: small batches straight to a registered
 * block over request/reply, the rest (and whatever a block does not take) to the JetStream
 * work queue, published until stored.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FunctionDef, WireTask } from '../../wire/protocol.ts';
import type { ExecTask, TaskOutcome } from '../messages.ts';
import { toPoolTask } from '../task-encoding.ts';
import { publishUntilStored } from '../../nats/publish-until-stored.ts';
import { DIRECT_ACCEPTED, PROTOCOL_VERSION, encodeBinary, type Subjects, type TaskBatchMessage } from '../../nats/protocol.ts';

/** Batches of at most this many tasks are offered straight to a block before the work queue. */
export const DIRECT_MAX_TASKS = 8;
/** How long a block may take to take or refuse a batch offered straight to it. */
const DIRECT_TIMEOUT_MS = 1_000;

/** Encodes tasks for blocks: those that can travel, the functions they use, and outcomes for those refused. */
export function encodeTasks(tasks: ExecTask[]): { ready: WireTask[]; functions: Map<number, FunctionDef>; refused: TaskOutcome[] } {
  const ready: WireTask[] = [];
  const functions = new Map<number, FunctionDef>();
  const refused: TaskOutcome[] = [];
  for (const task of tasks) {
    const encoded = toPoolTask(task);
    if ('wire' in encoded) {
      ready.push(encoded.wire);
      functions.set(encoded.fn.id, encoded.fn);
    } else {
      refused.push(encoded);
    }
  }
  return { ready, functions, refused };
}

/** A batch message and its de-duplication id. */
export interface Batch {
  message: TaskBatchMessage;
  msgID: string;
}

/**
 * Splits tasks into batch messages. Many small messages spread a short queue over blocks;
 * large ones carry a flood cheaply. A task for which `staysWith` is true stays in the batch of
 * the task before it (a task sent ahead, with the try it follows: followers.ts).
 */
export function batchesOf(
  ready: WireTask[],
  functions: Map<number, FunctionDef>,
  workers: number,
  maxTasksPerMessage: number,
  staysWith?: (task: WireTask) => boolean,
): Batch[] {
  const size = Math.max(1, Math.min(maxTasksPerMessage, Math.ceil(ready.length / (8 * Math.max(1, workers)))));
  const batches: Batch[] = [];
  const close = (chunk: WireTask[]): void => {
    const needed = new Set(chunk.map((t) => t.fnId));
    const message: TaskBatchMessage = {
      v: PROTOCOL_VERSION,
      kind: 'tasks',
      functions: [...needed].map((id) => functions.get(id)!),
      tasks: chunk,
    };
    batches.push({ message, msgID: `${chunk[0]!.taskId}.${chunk[0]!.attempt}.${chunk.length}` });
  };
  let start = 0;
  for (let end = size; start < ready.length; end = start + size) {
    while (staysWith && end < ready.length && staysWith(ready[end]!)) end++;
    close(ready.slice(start, end));
    start = end;
  }
  return batches;
}

export interface DispatcherOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  subjects: Subjects;
  runId: string;
  /** Ends every retry and every wait: the manager is stopping. */
  signal: AbortSignal;
  /** Whether any of these tries is still this executor's to run (not failed or moved elsewhere meanwhile). */
  wanted: (tries: ReadonlyArray<{ taskId: number; attempt: number }>) => boolean;
  /** A block took a batch offered straight to it. */
  accepted: (blockId: string, tasks: Array<{ taskId: number; attempt: number }>) => void;
}

/** Sends batches: straight to a block when one is named, to the work queue otherwise. */
export class Dispatcher {
  readonly #options: DispatcherOptions;

  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  /** Sends one batch; `blockId` names a block to offer it to first. */
  dispatch(batch: Batch, blockId: string | undefined): void {
    if (blockId === undefined) void this.#store(batch);
    else void this.#sendDirect(blockId, batch);
  }

  /**
   * A small batch goes straight to a block, skipping the work queue's store (a chain of
   * dependent tasks is a stream of one-task batches); a busy, slow or lost block sends it to
   * the work queue instead. A reply lost after the block took the batch could let it run
   * twice; the DFK then uses the first result.
   */
  async #sendDirect(blockId: string, batch: Batch): Promise<void> {
    const { nc, subjects, signal } = this.#options;
    try {
      const reply = await nc.request(subjects.blockTasks(blockId), encodeBinary(batch.message), { timeout: DIRECT_TIMEOUT_MS });
      if (JSON.parse(new TextDecoder().decode(reply.data)) === DIRECT_ACCEPTED) {
        if (!signal.aborted) this.#options.accepted(blockId, batch.message.tasks.map(({ taskId, attempt }) => ({ taskId, attempt })));
        return;
      }
    } catch {
      // No answer: the work queue will do.
    }
    await this.#store(batch);
  }

  /**
   * Publishes a batch to the work queue until JetStream has stored it, the manager stops, or
   * none of its tries is wanted any more (a lost site's tries failed with `SiteLost` or moved
   * to another executor: retrying their batch until shutdown would only warn).
   */
  async #store(batch: Batch): Promise<void> {
    const { js, subjects, runId, signal, wanted } = this.#options;
    await publishUntilStored(js, subjects.tasks, encodeBinary(batch.message), {
      msgID: `${runId}.${batch.msgID}`,
      signal,
      abandon: () => !wanted(batch.message.tasks),
      what: 'a task batch',
      warn: (message) => process.emitWarning(message),
    });
  }
}

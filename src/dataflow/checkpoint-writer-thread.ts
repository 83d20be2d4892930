/**
 * The entry of the checkpoint writer's thread (`checkpointMode: 'task_exit'`): the SQLite
 * commits of a run's results, and their encoding, run here, off the DFK's thread (they cost
 * ~12 µs per result there, a third of a no-op task). It takes batches of results already
 * made travel-safe by `encodeValue` (the main thread keeps that step, so that a value that
 * cannot be stored is refused at the task, as before), commits each batch in one transaction
 * and acknowledges it: the DFK resolves the batch's futures on that acknowledgement, so a
 * result the script has seen is in the `-wal` file and survives a kill -9 of the driver.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { CheckpointWriter, keyBytes, writerFilePath } from './checkpoint-file.ts';
import { serializeResult } from './checkpoint-value.ts';

export interface CheckpointThreadData {
  path: string;
  synchronous: 'normal' | 'full';
}

export type ToCheckpointThread =
  /** `keys[i]` (a memo key, hex) has the result `values[i]` (after `encodeValue`). */
  | { type: 'commit'; id: number; keys: string[]; values: unknown[] }
  | { type: 'close' };

export type FromCheckpointThread =
  /** The thread is up (and has opened the checkpoint when it exists): it takes commits from now on. */
  | { type: 'ready' }
  /** The batches `ids` are committed (or, with `error`, could not be). */
  | { type: 'committed'; ids: number[]; error?: string }
  | { type: 'warning'; message: string }
  | { type: 'closed' };

const port = parentPort!;
const { path, synchronous } = workerData as CheckpointThreadData;
const warn = (message: string): void => port.postMessage({ type: 'warning', message } satisfies FromCheckpointThread);
/** Opened on the first commit, so that a run that never commits leaves no (empty) checkpoint behind. */
let writer: CheckpointWriter | undefined;
try {
  // A resumed run's checkpoint is opened (and checked) before the thread says it is ready.
  if (existsSync(writerFilePath(path))) writer = new CheckpointWriter(path, { synchronous, warn });
} catch {
  // Reported by the first commit, which tries again.
}
port.postMessage({ type: 'ready' } satisfies FromCheckpointThread);

/**
 * Batches that arrived while the last transaction ran are committed together, in one
 * transaction, on the next turn of this thread's loop (a port delivers every message queued
 * before `setImmediate` runs): when the writer falls behind, its transactions grow and their
 * cost per row falls (appended to the journal: ~2 µs at 50 rows, ~1 µs at 300, plus ~1 µs for
 * the merge into the B-tree, measured); when it keeps up, a batch
 * is committed as soon as it arrives, so a chain of dependent tasks waits microseconds. (A
 * writer that rested as long as its last transaction took, to make them bigger, was no better
 * in the runs measured on a loaded machine: the rest is wall time, there mostly spent waiting
 * for a core, so it only slowed the writer down.)
 */
let queued: Extract<ToCheckpointThread, { type: 'commit' }>[] = [];

port.on('message', (msg: ToCheckpointThread) => {
  if (msg.type === 'commit') {
    if (queued.push(msg) === 1) setImmediate(commitQueued);
    return;
  }
  commitQueued();
  writer?.close();
  port.postMessage({ type: 'closed' } satisfies FromCheckpointThread);
  port.close();
});

function commitQueued(): void {
  const batches = queued;
  queued = [];
  if (batches.length === 0) return;
  try {
    writer ??= new CheckpointWriter(path, { synchronous, warn });
    const rows: [Buffer, Buffer][] = [];
    for (const { keys, values } of batches) for (let i = 0; i < keys.length; i++) rows.push([keyBytes(keys[i]!), serializeResult(values[i])]);
    // Appended to the journal: ~4x cheaper than inserts into the B-tree (see checkpoint-file.ts).
    writer.append(rows);
    port.postMessage({ type: 'committed', ids: batches.map((b) => b.id) } satisfies FromCheckpointThread);
  } catch (error) {
    port.postMessage({ type: 'committed', ids: batches.map((b) => b.id), error: (error as Error).message } satisfies FromCheckpointThread);
  }
}

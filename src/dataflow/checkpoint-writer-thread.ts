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
import { serialize } from 'node:v8';
import { CheckpointWriter, keyBytes } from './checkpoint-file.ts';

export interface CheckpointThreadData {
  path: string;
  synchronous: 'normal' | 'full';
}

export type ToCheckpointThread =
  /** `keys[i]` (a memo key, hex) has the result `values[i]` (after `encodeValue`). */
  | { type: 'commit'; id: number; keys: string[]; values: unknown[] }
  | { type: 'close' };

export type FromCheckpointThread =
  | { type: 'committed'; id: number }
  | { type: 'failed'; id: number; message: string }
  | { type: 'warning'; message: string }
  | { type: 'closed' };

const port = parentPort!;
const { path, synchronous } = workerData as CheckpointThreadData;
const warn = (message: string): void => port.postMessage({ type: 'warning', message } satisfies FromCheckpointThread);
/** Opened on the first commit, so that a run that never commits leaves no (empty) checkpoint behind. */
let writer: CheckpointWriter | undefined;

port.on('message', (msg: ToCheckpointThread) => {
  if (msg.type === 'close') {
    writer?.close();
    port.postMessage({ type: 'closed' } satisfies FromCheckpointThread);
    port.close();
    return;
  }
  try {
    writer ??= new CheckpointWriter(path, { synchronous, warn });
    const rows = new Array<[Buffer, Buffer]>(msg.keys.length);
    for (let i = 0; i < rows.length; i++) rows[i] = [keyBytes(msg.keys[i]!), serialize(msg.values[i])];
    // In key order: the inserts then walk the B-tree from left to right (see CheckpointStore.flush).
    rows.sort((a, b) => Buffer.compare(a[0], b[0]));
    writer.commit(rows);
    port.postMessage({ type: 'committed', id: msg.id } satisfies FromCheckpointThread);
  } catch (error) {
    port.postMessage({ type: 'failed', id: msg.id, message: (error as Error).message } satisfies FromCheckpointThread);
  }
});

/**
 * The entry of the monitoring writer's thread: the `MonitoringWriter` runs here, off the DFK's
 * thread, so that SQLite's inserts (a few µs per event, ~7 events per task) do not slow the
 * DFK down. It takes `{ type: 'events', events }` and answers `{ type: 'closed', stats }` to
 * `{ type: 'close' }`.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { MonitoringEvent } from './events.ts';
import { decodeBatch, type CompactBatch } from './compact.ts';
import { MonitoringWriter } from './writer.ts';

/** The writer thread's nice value (0 is the default; 19 the lowest priority). */
const WRITER_NICE = 19;

export type ToWriterThread = { type: 'events'; events: MonitoringEvent[] } | { type: 'compact'; batch: CompactBatch } | { type: 'close' };

lowerThisThreadsPriority();

const port = parentPort!;
const writer = MonitoringWriter.open((workerData as { path: string }).path);
port.on('message', (msg: ToWriterThread) => {
  if (msg.type === 'events') {
    for (const event of msg.events) writer.write(event);
    return;
  }
  if (msg.type === 'compact') {
    decodeBatch(msg.batch, (event) => writer.write(event));
    return;
  }
  writer.close();
  port.postMessage({ type: 'closed', stats: writer.stats });
  port.close();
});

/**
 * The writer yields the CPU to the DFK and the workers: on Linux, `setpriority` on a thread's
 * id changes that thread alone, and raising the nice value needs no privilege. When the cores
 * are busy with tasks, the writer falls behind and catches up as soon as they are not (its
 * batches wait in its port, in order); nothing is lost, and `clear()` waits for it. At nice 10
 * it still took about a tenth of 2 busy cores: a 100k no-op flood ran at 81-84% of the rate
 * without monitoring, against 90-91% at nice 19, the same as a writer that wrote nothing
 * (9 interleaved rounds). Elsewhere the thread keeps its priority.
 */
function lowerThisThreadsPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, WRITER_NICE);
  } catch {
    // No /proc/thread-self (not Linux), or refused: the writer runs at the process's priority.
  }
}

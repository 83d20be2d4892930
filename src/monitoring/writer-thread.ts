/**
 * The entry of the monitoring writer's thread: the `MonitoringWriter` runs here, off the DFK's
 * thread, so that SQLite's inserts (a few µs per event, ~7 events per task) do not slow the
 * DFK down. It takes `{ type: 'events', events }` and answers `{ type: 'closed', stats }` to
 * `{ type: 'close' }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MonitoringEvent } from './events.ts';
import { decodeBatch, type CompactBatch } from './compact.ts';
import { MonitoringWriter } from './writer.ts';

export type ToWriterThread = { type: 'events'; events: MonitoringEvent[] } | { type: 'compact'; batch: CompactBatch } | { type: 'close' };

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

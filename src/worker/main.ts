/**
 * Entry point of one worker thread. The owner (a worker actor) talks to it on two channels:
 * comlink on `parentPort` for control calls, and a raw `MessagePort` for batches of tasks and
 * results, so that a task never pays for a comlink round trip of its own.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import type { FromWorker, ToWorker } from '../wire/protocol.ts';
import { nodeEndpoint } from './comlink-endpoint.ts';
import { RunningSlot, TaskRunner } from './task-runner.ts';

export interface WorkerThreadData {
  workerId: string;
  dataPort: MessagePort;
  slot: SharedArrayBuffer;
  /** How long the thread polls for more work once idle; the task runner's default if absent. */
  idleSpinMs?: number | undefined;
}

/** The control calls a worker thread answers through comlink. */
export interface WorkerControl {
  /** Answers once the thread has loaded and is taking tasks. */
  ping(): string;
  /** Heap and resident memory of this thread's isolate, in bytes. */
  memory(): { heapUsed: number; rss: number };
}

const { workerId, dataPort, slot, idleSpinMs } = workerData as WorkerThreadData;
const runner = new TaskRunner(
  (msg: FromWorker) => dataPort.postMessage(msg),
  new RunningSlot(slot),
  () => receiveMessageOnPort(dataPort)?.message as ToWorker | undefined,
  idleSpinMs,
);
dataPort.on('message', (msg: ToWorker) => runner.receive(msg));

const control: WorkerControl = {
  ping: () => workerId,
  memory: () => ({ heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage.rss() }),
};
Comlink.expose(control, nodeEndpoint(parentPort!));

/**
 * Entry point of one worker thread. The owner (a worker actor) talks to it on two channels:
 * comlink on `parentPort` for control calls, and a raw `MessagePort` for batches of tasks and
 * results, so that a task never pays for a comlink round trip of its own.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from '../wire/protocol.ts';
import { comlink, nodeEndpoint } from './comlink-endpoint.ts';
import { RunningSlot } from './running-slot.ts';
import { TaskRunner } from './task-runner.ts';
import { DEFERRED_START } from './spawn.ts';

export interface WorkerThreadData {
  workerId: string;
  dataPort: MessagePort;
  slot: SharedArrayBuffer;
  /** How long the thread polls for more work once idle; the task runner's default if absent. */
  idleSpinMs?: number | undefined;
  /** Tries the thread runs at once (HTEX's `tasksPerWorker`); 1 if absent. */
  concurrency?: number | undefined;
}

/** What a worker thread reports of its own use of the machine. */
export interface WorkerSample {
  workerId: string;
  /** Heap of this thread's isolate, in bytes. */
  heapUsed: number;
  heapTotal: number;
  /** Resident memory of the whole process (threads share it), in bytes. */
  rss: number;
  /** Time this thread's event loop has been busy since it started, in ms (tasks run there). */
  busyMs: number;
  /** The try running now, if any. */
  running: { taskId: number; attempt: number } | undefined;
  /** The process group of the bash command the running try waits on (for resource samples). */
  childPid?: number | undefined;
}

/**
 * The control calls a worker thread answers through comlink (its control plane; tasks and
 * results travel on the data port). A call is answered when the thread's event loop is free:
 * between tasks, or while an async app or a bash command is awaited.
 */
export interface WorkerControl {
  /** Cancels a try: aborts its signal if it runs, skips it if queued. */
  cancel(taskId: number, attempt: number): 'running' | 'queued' | 'unknown';
  /** Memory and busy time of this thread. */
  sample(): WorkerSample;
  /** Hands back the tries queued here and not started (TaskRunner.giveBack). */
  giveBack(): Array<{ taskId: number; attempt: number }>;
}

// Set up in the handler of the start message itself, not after an await: comlink's listener on
// parentPort must be in place before the next message is dispatched.
if (workerData === DEFERRED_START) parentPort!.once('message', (data: WorkerThreadData) => start(data));
else start(workerData as WorkerThreadData);

function start({ workerId, dataPort, slot, idleSpinMs, concurrency }: WorkerThreadData): void {
  const running = new RunningSlot(slot);
  const runner = new TaskRunner(
    (msg: FromWorker) => dataPort.postMessage(msg),
    running,
    () => receiveMessageOnPort(dataPort)?.message as ToWorker | undefined,
    idleSpinMs,
    concurrency,
  );
  dataPort.on('message', (msg: ToWorker) => runner.receive(msg));

  const control: WorkerControl = {
    cancel: (taskId, attempt) => {
      try {
        return runner.cancel(taskId, attempt);
      } finally {
        running.answered();
      }
    },
    giveBack: () => {
      try {
        return runner.giveBack();
      } finally {
        running.answered();
      }
    },
    sample: () => {
      const { heapUsed, heapTotal } = process.memoryUsage();
      const current = running.current();
      return {
        workerId,
        heapUsed,
        heapTotal,
        rss: process.memoryUsage.rss(),
        busyMs: performance.eventLoopUtilization().active,
        running: current && { taskId: current.taskId, attempt: current.attempt },
        ...(current && running.child() > 0 ? { childPid: running.child() } : {}),
      };
    },
  };
  comlink().expose(control, nodeEndpoint(parentPort!));
  // Last: the owner hands this thread tasks from now on (FromWorker 'ready').
  dataPort.postMessage({ type: 'ready' } satisfies FromWorker);
}

import { MessageChannel, type MessagePort, type ResourceLimits, type Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { spawnBehaviour, send, type Behaviour, type Ref } from './actor.ts';
import type { FromWorker, FunctionDef, ToWorker, WireOutcome, WireTask } from './protocol.ts';
import { nodeEndpoint } from '../executors/comlink-endpoint.ts';
import { spawnThread } from '../executors/spawn-thread.ts';
import { RunningSlot } from '../executors/task-runner.ts';
import type { WorkerControl, WorkerThreadData } from '../executors/worker-thread.ts';

/** A task ready for a worker thread: its encoded form and its function. */
export interface PoolTask {
  wire: WireTask;
  fn: FunctionDef;
}

/** Messages a worker actor handles. */
export type ToWorkerActor =
  | { type: 'run'; tasks: PoolTask[] }
  | { type: 'thread'; generation: number; msg: FromWorker }
  | { type: 'thread-exit'; generation: number; code: number; reason: string }
  | { type: 'watchdog' }
  | { type: 'stop'; done: () => void };

/** Messages a worker actor sends to the pool that supervises it. */
export type FromWorkerActor =
  | { type: 'worker-results'; workerId: string; outcomes: WireOutcome[]; meanTaskMs: number }
  | { type: 'worker-running'; workerId: string; taskId: number; attempt: number };

/**
 * Thrown by a worker actor whose thread died, so that its supervisor restarts it. Carries the
 * tasks the thread held: `running` was being executed, `queued` had not started.
 */
export class WorkerThreadExit extends Error {
  constructor(
    readonly workerId: string,
    readonly reason: string,
    readonly running: PoolTask | undefined,
    readonly queued: PoolTask[],
    readonly timedOut: boolean,
  ) {
    super(`worker ${workerId} thread exited: ${reason}`);
    this.name = 'WorkerThreadExit';
  }
}

export interface WorkerActorOptions {
  workerId: string;
  pool: Ref<FromWorkerActor>;
  resourceLimits?: ResourceLimits | undefined;
}

let generations = 0;

/** How often a worker holding tasks with a walltime checks the one running. */
const WATCHDOG_PERIOD_MS = 100;
/** A synchronous task past its walltime by this much is stopped by terminating its thread. */
const WATCHDOG_GRACE_MS = 250;

/**
 * The actor that owns one worker thread: it sends it batches of tasks, hands results to the
 * pool, and turns the thread's death into a crash that its supervisor answers with a restart.
 */
class WorkerActor implements Behaviour<ToWorkerActor> {
  readonly #id: string;
  readonly #self: Ref<ToWorkerActor>;
  /** Tells this thread's messages from those of the thread it replaced, still in the mailbox. */
  readonly #generation = ++generations;
  readonly #pool: Ref<FromWorkerActor>;
  readonly #thread: Worker;
  readonly #port: MessagePort;
  readonly #slot = new RunningSlot();
  readonly #control: Comlink.Remote<WorkerControl>;
  readonly #inFlight = new Map<number, PoolTask>();
  readonly #knownFunctions = new Set<number>();
  #watchdog: NodeJS.Timeout | undefined;
  #timedOut: { taskId: number; attempt: number } | undefined;
  #stopping = false;
  #lastError: Error | undefined;

  constructor(self: Ref<ToWorkerActor>, options: WorkerActorOptions) {
    this.#id = options.workerId;
    this.#self = self;
    this.#pool = options.pool;
    const channel = new MessageChannel();
    this.#port = channel.port1;
    const data: WorkerThreadData = { workerId: this.#id, dataPort: channel.port2, slot: this.#slot.buffer };
    this.#thread = spawnThread(data, [channel.port2], options.resourceLimits);
    const generation = this.#generation;
    this.#port.on('message', (msg: FromWorker) => send(self, { type: 'thread', generation, msg }));
    this.#thread.on('error', (error) => (this.#lastError = error));
    this.#thread.once('exit', (code) => {
      const reason = this.#lastError ? `${this.#lastError.name}: ${this.#lastError.message}` : `exit code ${code}`;
      send(self, { type: 'thread-exit', generation, code, reason });
    });
    // Idle workers must not keep the process alive; the kernel holds it open while tasks run.
    this.#thread.unref();
    this.#port.unref();
    this.#control = Comlink.wrap<WorkerControl>(nodeEndpoint(this.#thread));
  }

  /** Control calls (ping, memory) through comlink. */
  get control(): Comlink.Remote<WorkerControl> {
    return this.#control;
  }

  receive(msg: ToWorkerActor): void {
    if ('generation' in msg && msg.generation !== this.#generation) return;
    switch (msg.type) {
      case 'run':
        return this.#run(msg.tasks);
      case 'thread':
        return this.#fromThread(msg.msg);
      case 'watchdog':
        return this.#checkWalltime();
      case 'thread-exit':
        return this.#exited(msg.reason);
      case 'stop':
        this.#stopping = true;
        this.#clearWatchdog();
        void this.#thread.terminate().finally(msg.done);
        return;
    }
  }

  #run(tasks: PoolTask[]): void {
    const functions: FunctionDef[] = [];
    const wire: WireTask[] = new Array(tasks.length);
    let withWalltime = false;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i]!;
      if (!this.#knownFunctions.has(task.fn.id)) {
        this.#knownFunctions.add(task.fn.id);
        functions.push(task.fn);
      }
      this.#inFlight.set(task.wire.taskId, task);
      wire[i] = task.wire;
      if (task.wire.walltimeMs !== undefined) withWalltime = true;
    }
    const msg: ToWorker = { type: 'run', functions, tasks: wire };
    this.#port.postMessage(msg);
    if (withWalltime && !this.#watchdog) {
      this.#watchdog = setInterval(() => send(this.#self, { type: 'watchdog' }), WATCHDOG_PERIOD_MS);
      this.#watchdog.unref();
    }
  }

  #fromThread(msg: FromWorker): void {
    if (msg.type === 'running') {
      send(this.#pool, { type: 'worker-running', workerId: this.#id, taskId: msg.taskId, attempt: msg.attempt });
      return;
    }
    for (const outcome of msg.outcomes) this.#inFlight.delete(outcome.taskId);
    if (this.#inFlight.size === 0) this.#clearWatchdog();
    send(this.#pool, { type: 'worker-results', workerId: this.#id, outcomes: msg.outcomes, meanTaskMs: msg.meanTaskMs });
  }

  #checkWalltime(): void {
    const running = this.#slot.current();
    if (!running) return;
    const task = this.#inFlight.get(running.taskId);
    const walltime = task?.wire.walltimeMs;
    if (walltime === undefined) return;
    const elapsed = performance.timeOrigin + performance.now() - running.startedAt;
    if (elapsed > walltime + WATCHDOG_GRACE_MS) {
      // A synchronous function cannot be interrupted inside its thread: end the thread.
      this.#timedOut = { taskId: running.taskId, attempt: running.attempt };
      void this.#thread.terminate();
    }
  }

  #exited(reason: string): void {
    this.#clearWatchdog();
    if (this.#stopping) return;
    const current = this.#slot.current();
    const runningId = this.#timedOut?.taskId ?? current?.taskId;
    const running = runningId === undefined ? undefined : this.#inFlight.get(runningId);
    if (running) this.#inFlight.delete(running.wire.taskId);
    this.#port.close();
    this.#control[Comlink.releaseProxy]();
    throw new WorkerThreadExit(this.#id, reason, running, [...this.#inFlight.values()], this.#timedOut !== undefined);
  }

  #clearWatchdog(): void {
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  stopped(): void {
    this.#clearWatchdog();
    this.#control[Comlink.releaseProxy]();
    this.#port.close();
    void this.#thread.terminate();
  }
}

/** Spawns a worker actor (and its thread) under `parent`. */
export function spawnWorker(parent: Ref<unknown>, options: WorkerActorOptions): Ref<ToWorkerActor> {
  return spawnBehaviour<ToWorkerActor, WorkerActor>(parent, options.workerId, (ctx) => new WorkerActor(ctx.self, options));
}

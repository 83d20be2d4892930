import type { ResourceLimits } from 'node:worker_threads';
import type { SupervisionContext } from 'nact';
import { send, type Ref } from './actor.ts';
import { AppTimeout, serializeError, TaskCancelledError, WorkerLost } from '../common/errors.ts';
import type { WireOutcome } from '../wire/protocol.ts';
import type { WorkerSample } from '../worker/main.ts';
import {
  spawnWorker,
  WorkerThreadExit,
  type FromWorkerActor,
  type PoolTask,
  type ToWorkerActor,
  type WorkerChannel,
} from './worker.ts';

/** A worker holds enough tasks for about this much work, so that it never waits for the next batch. */
const BUFFER_MS = 4;
/**
 * A worker silent this long while it holds more tries than it runs is on a long one: the tries
 * behind it go to an idle worker (#rebalance), and it gets no more than it runs until it reports.
 */
const STUCK_AFTER_MS = 50;
/** Never more than this many tasks on one worker. */
const MAX_CAPACITY = 1024;
/** What a dispatched task's place in the queue holds until the queue is compacted. */
const RELEASED = undefined as unknown as PoolTask;
/** A worker whose thread dies this many times in a row without finishing a task is given up. */
const MAX_CONSECUTIVE_CRASHES = 5;

interface WorkerSlot {
  id: string;
  ref: Ref<ToWorkerActor>;
  /** The data plane of the current thread; undefined until it is ready, and while it restarts. */
  channel: WorkerChannel | undefined;
  capacity: number;
  crashes: number;
  alive: boolean;
  /** When it was last heard from (ready, results), or given work while it had none. */
  lastHeard: number;
  /** Asked for its unstarted tries; not asked again until it answers. */
  askedBack: boolean;
}

export interface WorkerPoolOptions {
  /** Prefix of worker ids, e.g. the executor label. */
  name: string;
  workers: number;
  resourceLimits?: ResourceLimits | undefined;
  /** How long an idle worker thread polls for more work before it sleeps. @default the task runner's */
  idleSpinMs?: number | undefined;
  /**
   * Tries each worker thread runs at once (HTEX's `tasksPerWorker`): a thread is given at
   * least this many, whatever its tasks' mean time says. @default 1
   */
  tasksPerWorker?: number | undefined;
  /** Receives the ends of tasks, in batches. */
  report: (outcomes: WireOutcome[]) => void;
  /** Told when a worker starts a task. */
  running?: (taskId: number, attempt: number) => void;
}

/**
 * The worker actors of one host (the thread executor in the DFK's process, or a block
 * manager on a node), and the queue in front of them. The owning actor forwards the workers'
 * messages and crashes here. Each worker gets as many tasks as it can finish in a few
 * milliseconds, judged from how long its tasks have taken, so quick tasks travel in large
 * batches and slow tasks spread one by one; one task each until a worker's first results, and
 * what waits behind a task that runs long is taken back for a worker that is free.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #workers: WorkerSlot[] = [];
  readonly #byId = new Map<string, WorkerSlot>();
  #queue: PoolTask[] = [];
  #head = 0;
  /**
   * Tasks a worker is always given room for: its `tasksPerWorker`. It is also all a worker
   * holds until its first results say how long its tasks take: a task queued behind one that
   * runs for long waits there while the other workers idle (6 held tasks on a block of 2
   * threads: the first thread up took two one-task batches, one running and one behind it, the
   * block's pull budget was then full and the second thread never got a task). Parsl's HTEX
   * gives a worker one task at a time too, unless prefetch is asked for.
   */
  readonly #floor: number;
  /**
   * Tasks sent ahead of a queued task they depend on (wire/protocol.ts SentAhead), by that
   * task: they go to the same worker, in the same batch, right behind it.
   */
  readonly #followers = new Map<PoolTask, PoolTask[]>();
  /** Looks again for a stuck worker once one may have been silent long enough. */
  #recheck: NodeJS.Timeout | undefined;

  constructor(owner: Ref<FromWorkerActor>, options: WorkerPoolOptions) {
    this.#options = options;
    this.#floor = Math.max(1, options.tasksPerWorker ?? 1);
    for (let i = 0; i < options.workers; i++) {
      const id = `${options.name}-worker-${i}`;
      const ref = spawnWorker(owner, { workerId: id, pool: owner, resourceLimits: options.resourceLimits, idleSpinMs: options.idleSpinMs, concurrency: this.#floor });
      const slot: WorkerSlot = { id, ref, channel: undefined, capacity: this.#floor, crashes: 0, alive: true, lastHeard: 0, askedBack: false };
      this.#workers.push(slot);
      this.#byId.set(id, slot);
    }
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Tasks on workers. */
  get inFlight(): number {
    let n = 0;
    for (const w of this.#workers) n += w.channel?.inFlight.size ?? 0;
    return n;
  }

  submit(tasks: PoolTask[]): void {
    // Tasks of this batch by id, made only when one of them was sent ahead.
    let batch: Map<number, PoolTask> | undefined;
    for (const task of tasks) {
      if (task.wire.after) {
        batch ??= new Map(tasks.map((t) => [t.wire.taskId, t]));
        if (this.#follow(task, batch)) continue;
      }
      this.#queue.push(task);
    }
    this.#pump();
  }

  /**
   * Puts a task sent ahead behind the try it depends on: on that try's worker, or with it when
   * it is queued in the same batch. Elsewhere (already ended, or queued earlier) it takes the
   * queue like any task: the worker that gets it reports it `unmet` and the DFK launches it
   * again once its dependency has ended. Returns whether it was placed.
   */
  #follow(task: PoolTask, batch: Map<number, PoolTask>): boolean {
    const { taskId, attempt } = task.wire.after!;
    const queued = batch.get(taskId);
    if (queued?.wire.attempt === attempt) {
      const followers = this.#followers.get(queued);
      if (followers) followers.push(task);
      else this.#followers.set(queued, [task]);
      return true;
    }
    for (const worker of this.#workers) {
      if (worker.channel?.open && worker.channel.inFlight.get(taskId)?.wire.attempt === attempt) {
        worker.channel.run([task]);
        return true;
      }
    }
    return false;
  }

  /** Appends to `batch` the tasks that follow its tasks (and theirs), taking them off #followers. */
  #withFollowers(batch: PoolTask[]): PoolTask[] {
    if (this.#followers.size === 0) return batch;
    for (let i = 0; i < batch.length; i++) {
      const followers = this.#followers.get(batch[i]!);
      if (!followers) continue;
      this.#followers.delete(batch[i]!);
      for (const follower of followers) batch.push(follower);
    }
    return batch;
  }

  /** Handles a message from one of the pool's worker actors. */
  handle(msg: FromWorkerActor): void {
    const slot = this.#byId.get(msg.workerId);
    if (msg.type === 'worker-running') {
      this.#options.running?.(msg.taskId, msg.attempt);
      return;
    }
    if (msg.type === 'worker-gave-back') {
      if (slot) this.#tookBack(slot, msg.channel, msg.tries);
      return;
    }
    if (msg.type === 'worker-ready') {
      if (slot) {
        slot.channel = msg.channel;
        slot.capacity = this.#floor;
        slot.lastHeard = performance.now();
        slot.askedBack = false;
      }
      this.#pump();
      return;
    }
    if (slot && slot.channel === msg.channel) {
      slot.crashes = 0;
      slot.lastHeard = performance.now();
      const wanted = Math.ceil(BUFFER_MS / Math.max(msg.meanTaskMs, 1e-3));
      slot.capacity = Math.max(this.#floor, Math.min(MAX_CAPACITY, wanted));
    }
    if (msg.outcomes.length > 0) this.#options.report(msg.outcomes);
    this.#pump();
  }

  /**
   * Cancels a try wherever it is here: taken off the queue, or taken back from its worker,
   * which is told to stop it (see the worker actor). Its outcome, a `TaskCancelledError`, is
   * reported at once, and whatever the thread later says of it is dropped. Returns whether
   * the try was here.
   */
  cancel(taskId: number, attempt: number): boolean {
    let found = false;
    for (let i = this.#head; i < this.#queue.length; i++) {
      const task = this.#queue[i]!;
      if (task.wire.taskId === taskId && task.wire.attempt === attempt) {
        // Its followers take its place: the worker that gets them reports them unmet.
        this.#queue.splice(i, 1, ...(this.#followers.get(task) ?? []));
        this.#followers.delete(task);
        found = true;
        break;
      }
    }
    for (const followers of found ? [] : this.#followers.values()) {
      const i = followers.findIndex(({ wire }) => wire.taskId === taskId && wire.attempt === attempt);
      if (i < 0) continue;
      const [cancelled] = followers.splice(i, 1);
      const behind = this.#followers.get(cancelled!);
      if (behind) {
        this.#followers.delete(cancelled!);
        followers.push(...behind);
      }
      found = true;
      break;
    }
    if (!found) {
      for (const worker of this.#workers) {
        if (worker.channel?.withdraw(taskId, attempt)) {
          send(worker.ref, { type: 'cancel', taskId, attempt });
          found = true;
          break;
        }
      }
    }
    if (found) {
      const error = serializeError(new TaskCancelledError(`task ${taskId} was cancelled`));
      this.#options.report([{ taskId, attempt, ok: false, error }]);
      queueMicrotask(() => this.#pump());
    }
    return found;
  }

  /**
   * Memory and busy time of each worker thread, asked through its control plane. A thread
   * busy in synchronous code cannot answer: it is listed as `busy: true`.
   */
  async sample(): Promise<Array<WorkerSample | { workerId: string; busy: true }>> {
    const alive = this.#workers.filter((w) => w.alive);
    return Promise.all(
      alive.map(
        (w) =>
          new Promise<WorkerSample | { workerId: string; busy: true }>((resolve) =>
            send(w.ref, { type: 'sample', reply: (sample) => resolve(sample ?? { workerId: w.id, busy: true }) }),
          ),
      ),
    );
  }

  /**
   * Supervises a worker actor that crashed: the task it was running fails with `WorkerLost`
   * (or `AppTimeout`), the tasks it had not started go back to the front of the queue, and
   * the worker is restarted with a new thread.
   */
  childCrashed(child: Ref<unknown>, error: Error | undefined, ctx: SupervisionContext<unknown, Ref<any>>): symbol {
    const slot = this.#workers.find((w) => w.ref === child) ?? this.#byId.get((child as { name?: string }).name ?? '');
    if (!slot || !(error instanceof WorkerThreadExit)) {
      // A bug in the worker actor itself, not a dead thread: restart it and lose nothing we know of.
      return ctx.resetChild as symbol;
    }
    const lost: WireOutcome[] = [];
    if (error.running) {
      const { taskId, attempt, walltimeMs } = error.running.wire;
      const cause = error.timedOut && walltimeMs !== undefined ? new AppTimeout(walltimeMs) : new WorkerLost(slot.id, error.reason);
      lost.push({ taskId, attempt, ok: false, error: serializeError(cause) });
    }
    for (const { wire } of error.alsoRunning) {
      lost.push({ taskId: wire.taskId, attempt: wire.attempt, ok: false, error: serializeError(new WorkerLost(slot.id, error.reason)) });
    }
    slot.channel = undefined;
    // Ended on purpose to stop a cancelled task: not a crash.
    if (!error.cancelled) slot.crashes++;
    this.#queue.splice(this.#head, 0, ...error.queued);
    if (lost.length > 0) this.#options.report(lost);
    if (slot.crashes >= MAX_CONSECUTIVE_CRASHES) {
      slot.alive = false;
      if (!this.#workers.some((w) => w.alive)) this.#failQueue(`every worker died ${MAX_CONSECUTIVE_CRASHES} times in a row; last: ${error.reason}`);
      else queueMicrotask(() => this.#pump());
      return ctx.stopChild as symbol;
    }
    queueMicrotask(() => this.#pump());
    return ctx.resetChild as symbol;
  }

  /** Stops every worker and its thread. */
  async stop(): Promise<void> {
    clearTimeout(this.#recheck);
    await Promise.all(
      this.#workers
        .filter((w) => w.alive)
        .map((w) => new Promise<void>((done) => send(w.ref, { type: 'stop', done }))),
    );
  }

  /** Takes back every task not yet on a worker, e.g. to hand them elsewhere at shutdown. */
  drainQueue(): PoolTask[] {
    const rest = this.#withFollowers(this.#queue.slice(this.#head));
    this.#queue = [];
    this.#head = 0;
    return rest;
  }

  #failQueue(reason: string): void {
    const outcomes: WireOutcome[] = this.drainQueue().map(({ wire }) => ({
      taskId: wire.taskId,
      attempt: wire.attempt,
      ok: false,
      error: serializeError(new WorkerLost(this.#options.name, reason)),
    }));
    if (outcomes.length > 0) this.#options.report(outcomes);
  }

  #pump(): void {
    let waiting = this.queued;
    if (waiting === 0) return this.#rebalance();
    const now = performance.now();
    const open = this.#workers.filter((w) => w.alive && w.channel?.open && w.channel.inFlight.size < this.#room(w, now));
    if (open.length === 0) {
      if (!this.#workers.some((w) => w.alive)) this.#failQueue('no worker is alive');
      return;
    }
    // Least loaded first, and an even share each, so a short queue spreads over all workers:
    // those still booting too (they take theirs when they come online), or the first thread up
    // would take a short queue whole and run it one task after another while the others idle.
    let booting = 0;
    for (const w of this.#workers) if (w.alive && !w.channel?.open) booting++;
    open.sort((a, b) => a.channel!.inFlight.size - b.channel!.inFlight.size);
    for (let i = 0; i < open.length && waiting > 0; i++) {
      const channel = open[i]!.channel!;
      const share = Math.ceil(waiting / (open.length + booting - i));
      const count = Math.min(share, this.#room(open[i]!, now) - channel.inFlight.size);
      if (channel.inFlight.size === 0) open[i]!.lastHeard = now;
      const batch = this.#withFollowers(this.#queue.slice(this.#head, this.#head + count));
      // Let go of what was handed out: a queue of a million tasks otherwise keeps every
      // dispatched (and finished) task's arguments until half of it has gone.
      this.#queue.fill(RELEASED, this.#head, this.#head + count);
      this.#head += count;
      waiting -= count;
      channel.run(batch);
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (waiting === 0) this.#rebalance();
  }

  /** Tries a worker may hold: its floor only while it looks stuck (STUCK_AFTER_MS). */
  #room(w: WorkerSlot, now: number): number {
    return now - w.lastHeard >= STUCK_AFTER_MS && w.channel!.inFlight.size >= this.#floor ? this.#floor : w.capacity;
  }

  /**
   * With nothing queued and a worker idle, takes back the tries another holds behind a long one:
   * a free worker never waits while tries wait elsewhere (a worker of quick tasks holds ~4 ms).
   */
  #rebalance(): void {
    if (this.queued > 0 || !this.#workers.some((w) => w.alive && w.channel?.open && w.channel.inFlight.size === 0)) return;
    const now = performance.now();
    let soonest = Infinity;
    for (const w of this.#workers) {
      if (!w.alive || !w.channel?.open || w.askedBack || w.channel.inFlight.size <= this.#floor) continue;
      const silent = now - w.lastHeard;
      if (silent < STUCK_AFTER_MS) {
        soonest = Math.min(soonest, STUCK_AFTER_MS - silent);
        continue;
      }
      w.askedBack = true;
      send(w.ref, { type: 'give-back' });
    }
    if (soonest < Infinity && this.#recheck === undefined) {
      this.#recheck = setTimeout(() => {
        this.#recheck = undefined;
        this.#rebalance();
      }, Math.ceil(soonest));
      this.#recheck.unref();
    }
  }

  /** A worker handed back tries it had not started: they go to the front of the queue. */
  #tookBack(slot: WorkerSlot, channel: WorkerChannel, tries: Array<{ taskId: number; attempt: number }>): void {
    // From a thread since ended: its tries went back to the queue with its crash.
    if (slot.channel !== channel) return;
    slot.askedBack = false;
    const back: PoolTask[] = [];
    for (const { taskId, attempt } of tries) {
      const task = channel.inFlight.get(taskId);
      if (task?.wire.attempt !== attempt) continue; // cancelled (and reported) meanwhile
      channel.inFlight.delete(taskId);
      back.push(task);
    }
    this.#queue.splice(this.#head, 0, ...back);
    this.#pump();
  }
}

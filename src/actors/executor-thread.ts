import { spawnBehaviour, send, type Behaviour, type Ref } from './actor.ts';
import type { FromExecutor, TaskOutcome, ToExecutor } from './messages.ts';
import { toPoolTask, fromWire } from './task-encoding.ts';
import { WorkerPool } from './worker-pool.ts';
import type { FromWorkerActor, PoolTask } from './worker.ts';
import type { ResolvedThreadPoolExecutorOptions } from '../executors/thread-executor.ts';

// The supervision callback is given the manager's reference, not its state; this finds the state.
const managers = new WeakMap<Ref<unknown>, ThreadExecutorManager>();

/** The executor manager actor of a `ThreadPoolExecutor`: a queue and a pool of worker actors. */
class ThreadExecutorManager implements Behaviour<ToExecutor | FromWorkerActor> {
  readonly pool: WorkerPool;
  readonly #dfk: Ref<FromExecutor>;

  constructor(self: Ref<ToExecutor | FromWorkerActor>, dfk: Ref<FromExecutor>, options: ResolvedThreadPoolExecutorOptions) {
    this.#dfk = dfk;
    managers.set(self, this);
    this.pool = new WorkerPool(self as Ref<FromWorkerActor>, {
      name: options.label,
      workers: options.maxThreads,
      resourceLimits: options.resourceLimits,
      report: (outcomes) => send(this.#dfk, { type: 'results', outcomes: outcomes.map(fromWire) }),
      running: (taskId, attempt) => send(this.#dfk, { type: 'running', taskId, attempt }),
    });
  }

  receive(msg: ToExecutor | FromWorkerActor): void | Promise<void> {
    switch (msg.type) {
      case 'launch': {
        const ready: PoolTask[] = [];
        const refused: TaskOutcome[] = [];
        for (const task of msg.tasks) {
          const encoded = toPoolTask(task);
          if ('wire' in encoded) ready.push(encoded);
          else refused.push(encoded);
        }
        if (refused.length > 0) send(this.#dfk, { type: 'results', outcomes: refused });
        this.pool.submit(ready);
        return;
      }
      case 'cancel':
        this.pool.cancel(msg.taskId, msg.attempt);
        msg.handled();
        return;
      case 'worker-ready':
      case 'worker-results':
      case 'worker-running':
      case 'worker-gave-back':
        this.pool.handle(msg);
        return;
      case 'shutdown':
        return this.pool.stop().then(msg.done);
    }
  }
}

/** Spawns the executor manager of a `ThreadPoolExecutor` under the DFK supervisor. */
export function spawnThreadExecutor(parent: Ref<unknown>, dfk: Ref<FromExecutor>, options: ResolvedThreadPoolExecutorOptions): Ref<ToExecutor> {
  return spawnBehaviour<ToExecutor | FromWorkerActor, ThreadExecutorManager>(
    parent,
    options.label,
    (ctx) => new ThreadExecutorManager(ctx.self, dfk, options),
    { onChildCrash: (child, error, ctx) => managers.get(ctx.self)?.pool.childCrashed(child, error, ctx) ?? (ctx.resetChild as symbol) },
  ) as Ref<ToExecutor>;
}

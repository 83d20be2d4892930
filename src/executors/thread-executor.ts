import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { spawnBehaviour, send, type Behaviour, type Ref } from '../actors/actor.ts';
import type { ExecTask, FromExecutor, TaskOutcome, ToExecutor, WireOutcome } from '../actors/protocol.ts';
import { WorkerPool } from '../actors/worker-pool.ts';
import type { FromWorkerActor, PoolTask } from '../actors/worker.ts';
import { decodeValue, encodeValue } from '../codec.ts';
import { deserializeError } from '../errors.ts';
import { parseOptions } from '../config/validate.ts';
import { brandExecutor, type Executor } from './executor.ts';

/** @default 'threads' */
export const DEFAULT_THREAD_EXECUTOR_LABEL = 'threads';

const threadExecutorSchema = z
  .object({
    /** Name apps use in `executors: [...]`. @default 'threads' */
    label: z.string().min(1).default(DEFAULT_THREAD_EXECUTOR_LABEL),
    /** Worker threads, each running one task at a time. @default os.availableParallelism() */
    maxThreads: z.number().int().positive().max(1024).optional(),
    /** Memory bounds of each worker thread; a thread that exceeds them is replaced. */
    resourceLimits: z
      .object({
        maxOldGenerationSizeMb: z.number().positive().optional(),
        maxYoungGenerationSizeMb: z.number().positive().optional(),
        codeRangeSizeMb: z.number().positive().optional(),
        stackSizeMb: z.number().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Options of `ThreadPoolExecutor`, as the user gives them. */
export type ThreadPoolExecutorOptions = z.input<typeof threadExecutorSchema>;
/** Options of `ThreadPoolExecutor` with every default filled in. */
export type ResolvedThreadPoolExecutorOptions = z.output<typeof threadExecutorSchema> & { maxThreads: number };

/** Validates thread executor options and fills defaults; throws `ConfigError` naming the option. */
export function resolveThreadPoolExecutorOptions(options: ThreadPoolExecutorOptions = {}): ResolvedThreadPoolExecutorOptions {
  const parsed = parseOptions(threadExecutorSchema, options, 'ThreadPoolExecutor');
  return { ...parsed, maxThreads: parsed.maxThreads ?? availableParallelism() };
}

/**
 * Runs apps on worker threads of this process, one task per thread at a time. Parsl's
 * `ThreadPoolExecutor`, but with real parallelism: each worker is its own V8 isolate.
 */
export class ThreadPoolExecutor implements Executor {
  readonly options: ResolvedThreadPoolExecutorOptions;

  constructor(options: ThreadPoolExecutorOptions = {}) {
    this.options = resolveThreadPoolExecutorOptions(options);
    brandExecutor(this);
  }

  get label(): string {
    return this.options.label;
  }

  spawnManager(parent: Ref<unknown>, dfk: Ref<FromExecutor>): Ref<ToExecutor> {
    return spawnBehaviour<ToExecutor | FromWorkerActor, ThreadExecutorManager>(
      parent,
      this.label,
      (ctx) => new ThreadExecutorManager(ctx.self, dfk, this.options),
      { onChildCrash: (child, error, ctx) => managers.get(ctx.self)?.pool.childCrashed(child, error, ctx) ?? (ctx.resetChild as symbol) },
    ) as Ref<ToExecutor>;
  }
}

// The supervision callback is given the manager's reference, not its state; this finds the state.
const managers = new WeakMap<Ref<unknown>, ThreadExecutorManager>();

/** Turns what a worker sent into what the DFK expects: values decoded, errors rebuilt. */
export function fromWire(outcome: WireOutcome): TaskOutcome {
  return outcome.ok
    ? { taskId: outcome.taskId, attempt: outcome.attempt, ok: true, value: decodeValue(outcome.value) }
    : { taskId: outcome.taskId, attempt: outcome.attempt, ok: false, error: deserializeError(outcome.error) };
}

/** Encodes one try for a worker; an argument that cannot travel fails that try alone. */
export function toPoolTask(task: ExecTask): PoolTask | TaskOutcome {
  try {
    const args = encodeValue(task.args, 'argument') as unknown[];
    return {
      fn: task.fn,
      wire: {
        taskId: task.taskId,
        attempt: task.attempt,
        kind: task.kind === 'bash' ? 'bash' : 'python',
        fnId: task.fn.id,
        args,
        walltimeMs: task.walltimeMs,
        bash: task.bash,
      },
    };
  } catch (error) {
    return { taskId: task.taskId, attempt: task.attempt, ok: false, error };
  }
}

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
      case 'worker-ready':
      case 'worker-results':
      case 'worker-running':
        this.pool.handle(msg);
        return;
      case 'shutdown':
        return this.pool.stop().then(msg.done);
    }
  }
}

import { availableParallelism } from 'node:os';
import { lazySchema, z } from '../common/zod.ts';
import { parseOptions } from '../common/validate.ts';
import { brandExecutor, type Executor } from './executor.ts';

/** @default 'threads' */
export const DEFAULT_THREAD_EXECUTOR_LABEL = 'threads';

const threadExecutorSchema = lazySchema(() =>
  z
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
    .strict(),
);

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
  readonly kind = 'threads';
  readonly options: ResolvedThreadPoolExecutorOptions;

  constructor(options: ThreadPoolExecutorOptions = {}) {
    this.options = resolveThreadPoolExecutorOptions(options);
    brandExecutor(this);
  }

  get label(): string {
    return this.options.label;
  }

}

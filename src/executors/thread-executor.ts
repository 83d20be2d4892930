import { availableParallelism } from 'node:os';
import { lazySchema, z } from '../common/zod.ts';
import { parseOptions } from '../common/validate.ts';
import { stagingOptionsShape } from './staging-options.ts';
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
      ...stagingOptionsShape,
      /** Memory bounds of each worker thread; a thread that exceeds them is replaced. @default none: Node.js's own limits */
      resourceLimits: z
        .object({
          /** Node's `maxOldGenerationSizeMb` of each worker. @default Node.js's */
          maxOldGenerationSizeMb: z.number().positive().optional(),
          /** Node's `maxYoungGenerationSizeMb` of each worker. @default Node.js's */
          maxYoungGenerationSizeMb: z.number().positive().optional(),
          /** Node's `codeRangeSizeMb` of each worker. @default Node.js's */
          codeRangeSizeMb: z.number().positive().optional(),
          /** Node's `stackSizeMb` of each worker. @default Node.js's (4) */
          stackSizeMb: z.number().positive().optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
);

/**
 * Options of `ThreadPoolExecutor`, as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: ThreadPoolExecutorOptions = { maxThreads: 4, resourceLimits: { maxOldGenerationSizeMb: 512 } };
 * new ThreadPoolExecutor(options);
 * ```
 */
export type ThreadPoolExecutorOptions = z.input<typeof threadExecutorSchema>;
/**
 * Options of `ThreadPoolExecutor` with every default filled in.
 *
 * @example
 * ```ts
 * const executor = new ThreadPoolExecutor();
 * const resolved: ResolvedThreadPoolExecutorOptions = executor.options;   // maxThreads filled in
 * ```
 */
export type ResolvedThreadPoolExecutorOptions = z.output<typeof threadExecutorSchema> & { maxThreads: number };

/** Validates thread executor options and fills defaults; throws `ConfigError` naming the option. */
export function resolveThreadPoolExecutorOptions(options: ThreadPoolExecutorOptions = {}): ResolvedThreadPoolExecutorOptions {
  const parsed = parseOptions(threadExecutorSchema, options, 'ThreadPoolExecutor');
  return { ...parsed, maxThreads: parsed.maxThreads ?? availableParallelism() };
}

/**
 * Runs apps on worker threads of this process, one task per thread at a time. Parsl's
 * `ThreadPoolExecutor`, but with real parallelism: each worker is its own V8 isolate.
 *
 * @example
 * ```ts
 * load(new Config({ executors: [new ThreadPoolExecutor({ label: 'local', maxThreads: 4 })] }));
 * ```
 */
export class ThreadPoolExecutor implements Executor {
  readonly kind = 'threads';
  /** The options, validated, with defaults filled in. */
  readonly options: ResolvedThreadPoolExecutorOptions;

  constructor(options: ThreadPoolExecutorOptions = {}) {
    this.options = resolveThreadPoolExecutorOptions(options);
    brandExecutor(this);
  }

  get label(): string {
    return this.options.label;
  }

}

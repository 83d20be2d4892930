import { clear, Config, load, ThreadPoolExecutor, waitForCurrentTasks, type AppFuture } from '../../src/index.ts';
import { heapPerTask, withLinkPercentiles, type Measured, type Sizes, type Subject } from './subject.ts';
import { chainAwaitedRun, chainRun, noop, throughputRun } from './app-runs.ts';

/** parsl-ts: apps on a `ThreadPoolExecutor`, through the DFK and its actors. */
export class ParslSubject implements Subject {
  readonly label = 'parsl-ts';
  readonly #threads: number;

  constructor(threads: number) {
    this.#threads = threads;
  }

  async start(): Promise<void> {
    load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: this.#threads })] }));
    // One task per thread at least, so that every thread has started and loaded the function.
    const first: AppFuture<number>[] = [];
    for (let i = 0; i < this.#threads * 4; i++) first.push(noop());
    await Promise.all(first);
  }

  async warmUp(sizes: Sizes): Promise<void> {
    if (sizes.warmup > 0) await throughputRun('parsl-ts', sizes.warmup);
    await chainRun('parsl-ts', sizes.chain);
    await chainAwaitedRun('parsl-ts', sizes.chain);
  }

  readonly measure = {
    /** 100,000 calls of a no-op app, then `Promise.all` on their futures, as a user writes it. */
    throughput: async ({ tasks }: Sizes): Promise<number> => tasks / ((await throughputRun('parsl-ts', tasks)) / 1000),
    /** Every link submitted at once, each depending on the one before: the DFK releases them. */
    chain: async ({ chain }: Sizes): Promise<number> => (await chainRun('parsl-ts', chain)) / chain,
    /** The script awaits each link before it calls the next one. */
    chainAwaited: async ({ chain }: Sizes): Promise<Measured> => {
      const links = new Float64Array(chain);
      return withLinkPercentiles(await chainAwaitedRun('parsl-ts', chain, links), links);
    },
    heapDropped: ({ memTasks }: Sizes): Promise<number> => heapPerTask(memTasks, false, runAndWait),
    heapKept: ({ memTasks }: Sizes): Promise<number> => heapPerTask(memTasks, true, runAndWait),
  };

  async stop(): Promise<void> {
    await clear();
  }
}

/** Calls `n` no-op apps, keeps their futures only if asked, and waits until all have ended. */
async function runAndWait(n: number, keep: unknown[] | undefined): Promise<void> {
  if (keep) for (let i = 0; i < n; i++) keep[i] = noop();
  else for (let i = 0; i < n; i++) noop();
  await waitForCurrentTasks();
  if (keep) {
    const futures = keep as AppFuture<number>[];
    for (const f of futures) if (!f.done() || f.settledValue !== 0) throw new Error(`parsl-ts task ${f.tid} did not end with 0`);
  }
}

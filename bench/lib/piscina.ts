import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { expectAllZero, expectEqual, heapPerTask, now, withLinkPercentiles, type Measured, type Sizes, type Subject } from './subject.ts';

const WORKER_FILE = fileURLToPath(new URL('../workers/piscina-worker.mjs', import.meta.url));

/**
 * The piscina baseline: a pool of the same size running the same functions, with piscina's
 * defaults otherwise (one task per worker at a time, `atomics: 'sync'`, unbounded queue).
 */
export class PiscinaSubject implements Subject {
  readonly label = 'piscina';
  readonly #threads: number;
  #pool: Piscina | undefined;

  constructor(threads: number) {
    this.#threads = threads;
  }

  get #p(): Piscina {
    if (!this.#pool) throw new Error('piscina: not started');
    return this.#pool;
  }

  async start(): Promise<void> {
    // execArgv: [] keeps tsx's loader out of the threads: the worker file is plain JavaScript.
    this.#pool = new Piscina({ filename: WORKER_FILE, minThreads: this.#threads, maxThreads: this.#threads, execArgv: [] });
    const first: Promise<number>[] = [];
    for (let i = 0; i < this.#threads * 4; i++) first.push(this.#p.run(null));
    await Promise.all(first);
  }

  async warmUp(sizes: Sizes): Promise<void> {
    if (sizes.warmup > 0) await this.#throughput(sizes.warmup);
    await this.#chain(sizes.chain);
  }

  readonly measure = {
    /** `pool.run` `n` times, then `Promise.all`, like the parsl-ts run. */
    throughput: async ({ tasks }: Sizes): Promise<number> => tasks / ((await this.#throughput(tasks)) / 1000),
    /** Each run awaited before the next: piscina has no dependency graph. */
    chain: async ({ chain }: Sizes): Promise<Measured> => {
      const links = new Float64Array(chain);
      return withLinkPercentiles(await this.#chain(chain, links), links);
    },
    heapDropped: ({ memTasks }: Sizes): Promise<number> => heapPerTask(memTasks, false, (n, keep) => this.#runAndWait(n, keep)),
    heapKept: ({ memTasks }: Sizes): Promise<number> => heapPerTask(memTasks, true, (n, keep) => this.#runAndWait(n, keep)),
  };

  async #throughput(n: number): Promise<number> {
    const pool = this.#p;
    const started = now();
    const runs = new Array<Promise<number>>(n);
    for (let i = 0; i < n; i++) runs[i] = pool.run(null);
    const values = await Promise.all(runs);
    const elapsed = now() - started;
    expectAllZero('piscina throughput', values, n);
    return elapsed;
  }

  async #chain(n: number, links?: Float64Array): Promise<number> {
    const pool = this.#p;
    const started = now();
    let value = 0;
    let t = started;
    for (let i = 0; i < n; i++) {
      value = (await pool.run(value, { name: 'inc' })) as number;
      const t2 = now();
      if (links) links[i] = t2 - t;
      t = t2;
    }
    const elapsed = now() - started;
    expectEqual('piscina chain', value, n);
    return elapsed;
  }

  /** Runs `n` no-ops; keeps their promises only if asked; counts ends instead of `Promise.all`. */
  #runAndWait(n: number, keep: unknown[] | undefined): Promise<void> {
    const pool = this.#p;
    return new Promise((resolve, reject) => {
      let done = 0;
      const ended = (value: unknown): void => {
        if (value !== 0) reject(new Error(`piscina: unexpected value ${String(value)}`));
        else if (++done === n) resolve();
      };
      for (let i = 0; i < n; i++) {
        const run = pool.run(null);
        run.then(ended, reject);
        if (keep) keep[i] = run;
      }
    });
  }

  async stop(): Promise<void> {
    await this.#pool?.destroy();
    this.#pool = undefined;
  }
}

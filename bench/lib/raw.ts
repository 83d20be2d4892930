import { Worker } from 'node:worker_threads';
import { expectEqual, now, withLinkPercentiles, type Measured, type Sizes, type Subject } from './subject.ts';

const WORKER_FILE = new URL('../workers/raw-worker.mjs', import.meta.url);

type Reply = { type: 'pong' } | { id: number; ok: boolean; value: unknown } | { ids: number[]; values: unknown[] } | { value: number };
type Handler = (worker: number, reply: Reply) => void;

/**
 * The raw postMessage baseline: plain worker threads that answer each message at once. No
 * futures, no dependency tracking, no codec: the floor that any runtime on worker_threads
 * pays. Throughput keeps `window` messages in flight per worker, one task per message;
 * the batched variant sends `batch` tasks per message; the chain is sequential round trips.
 */
export class RawSubject implements Subject {
  readonly label = 'raw postMessage';
  readonly #threads: number;
  readonly #window: number;
  readonly #batch: number;
  readonly #workers: Worker[] = [];
  #handler: Handler = () => {};

  constructor(threads: number, window: number, batch: number) {
    this.#threads = threads;
    this.#window = window;
    this.#batch = batch;
  }

  async start(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < this.#threads; i++) {
      // execArgv: [] keeps tsx's loader out of the thread: nothing here needs it.
      const worker = new Worker(WORKER_FILE, { execArgv: [] });
      worker.on('message', (reply: Reply) => this.#handler(i, reply));
      worker.on('error', (error) => {
        throw error;
      });
      this.#workers.push(worker);
    }
    let pongs = 0;
    ready.push(
      new Promise<void>((resolve) => {
        this.#handler = (_w, reply) => {
          if ('type' in reply && reply.type === 'pong' && ++pongs === this.#threads) resolve();
        };
      }),
    );
    for (const w of this.#workers) w.postMessage({ type: 'ping' });
    await Promise.all(ready);
  }

  async warmUp(sizes: Sizes): Promise<void> {
    if (sizes.warmup > 0) {
      await this.#pipelined(sizes.warmup);
      await this.#batched(sizes.warmup);
    }
    await this.#chain(sizes.chain);
  }

  readonly measure = {
    throughput: async ({ tasks }: Sizes): Promise<number> => tasks / ((await this.#pipelined(tasks)) / 1000),
    throughputBatched: async ({ tasks }: Sizes): Promise<number> => tasks / ((await this.#batched(tasks)) / 1000),
    chain: async ({ chain }: Sizes): Promise<Measured> => {
      const links = new Float64Array(chain);
      return withLinkPercentiles(await this.#chain(chain, links), links);
    },
  };

  /** `n` one-task messages, `window` in flight per worker; resolves with the elapsed ms. */
  #pipelined(n: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const started = now();
      let sent = 0;
      let done = 0;
      const post = (w: number): void => {
        this.#workers[w]!.postMessage({ type: 'run', id: sent++, args: [] });
      };
      this.#handler = (w, reply) => {
        if (!('ok' in reply) || reply.value !== 0) return reject(new Error(`raw: unexpected reply ${JSON.stringify(reply)}`));
        if (++done === n) return resolve(now() - started);
        if (sent < n) post(w);
      };
      for (let k = 0; k < this.#window; k++) {
        for (let w = 0; w < this.#threads && sent < n; w++) post(w);
      }
    });
  }

  /** `n` tasks in messages of `batch`, two messages in flight per worker. */
  #batched(n: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const started = now();
      let sent = 0;
      let done = 0;
      const post = (w: number): void => {
        const count = Math.min(this.#batch, n - sent);
        const tasks = new Array<{ id: number; args: unknown[] }>(count);
        for (let i = 0; i < count; i++) tasks[i] = { id: sent + i, args: [] };
        sent += count;
        this.#workers[w]!.postMessage({ type: 'batch', tasks });
      };
      this.#handler = (w, reply) => {
        if (!('values' in reply)) return reject(new Error(`raw: unexpected reply ${JSON.stringify(reply)}`));
        for (const v of reply.values) if (v !== 0) return reject(new Error(`raw: unexpected value ${String(v)}`));
        done += reply.values.length;
        if (done === n) return resolve(now() - started);
        if (sent < n) post(w);
      };
      for (let k = 0; k < 2; k++) {
        for (let w = 0; w < this.#threads && sent < n; w++) post(w);
      }
    });
  }

  /** `n` sequential round trips to one worker, each carrying the last answer + 1. */
  async #chain(n: number, times?: Float64Array): Promise<number> {
    const value = await new Promise<{ elapsed: number; value: number }>((resolve, reject) => {
      const started = now();
      let t = started;
      let links = 0;
      this.#handler = (_w, reply) => {
        if (!('value' in reply) || typeof reply.value !== 'number') return reject(new Error(`raw: unexpected reply ${JSON.stringify(reply)}`));
        const t2 = now();
        if (times) times[links] = t2 - t;
        t = t2;
        if (++links === n) return resolve({ elapsed: t2 - started, value: reply.value });
        this.#workers[0]!.postMessage({ type: 'inc', value: reply.value });
      };
      this.#workers[0]!.postMessage({ type: 'inc', value: 0 });
    });
    expectEqual('raw chain', value.value, n);
    return value.elapsed;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
    this.#workers.length = 0;
  }
}

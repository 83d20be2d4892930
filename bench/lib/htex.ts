import { clear, Config, dfk, HighThroughputExecutor, load, LocalProvider } from '../../src/index.ts';
import { htexManager } from '../../src/internal.ts';
import { CHAIN_CPU, THROUGHPUT_CPU, withCpu, type CpuRoles } from './cpu.ts';
import type { NatsEndpoint } from './nats.ts';
import { now, withLinkPercentiles, type Measured, type Sizes, type Subject } from './subject.ts';
import { chainAwaitedRun, chainRun, throughputRun } from './app-runs.ts';

// Self-contained functions, sent to the blocks by their source, as a user's script would.

const LABEL = 'htex';
/** How long the blocks may take to start and register. */
const REGISTER_TIMEOUT_MS = 60_000;

/**
 * parsl-ts's HighThroughputExecutor: apps through the DFK, over NATS JetStream to `blocks`
 * block-manager processes (a LocalProvider), each with `workers` worker threads. One DFK
 * start serves every measurement; start() returns once every block has registered.
 */
export class HtexSubject implements Subject {
  readonly label: string;
  readonly #workers: number;
  readonly #blocks: number;
  readonly #endpoint: NatsEndpoint;
  readonly #awaited: boolean;
  #blockPids: number[] = [];
  /** How long the blocks took to register, in ms. */
  registeredAfterMs = 0;

  constructor(workers: number, blocks: number, endpoint: NatsEndpoint, awaited: boolean) {
    this.#workers = workers;
    this.#blocks = blocks;
    this.#endpoint = endpoint;
    this.#awaited = awaited;
    this.label = `htex ${blocks}×${workers} worker${workers === 1 ? '' : 's'}`;
    if (!awaited) delete (this.measure as Partial<typeof this.measure>).chainAwaited;
  }

  get #roles(): CpuRoles {
    return { driver: [process.pid], nats: this.#endpoint.pid === undefined ? [] : [this.#endpoint.pid], runners: this.#blockPids };
  }

  async start(): Promise<void> {
    const started = now();
    const { url, user, password } = this.#endpoint;
    load(
      new Config({
        // Exactly `blocks` blocks for the whole run: no scaling in or out between measurements.
        strategy: 'none',
        executors: [
          new HighThroughputExecutor({
            label: LABEL,
            provider: new LocalProvider({ initBlocks: this.#blocks, minBlocks: this.#blocks, maxBlocks: this.#blocks }),
            maxWorkersPerNode: this.#workers,
            nats: { servers: url, user, password },
          }),
        ],
      }),
    );
    const manager = htexManager(dfk(), LABEL);
    const until = Date.now() + REGISTER_TIMEOUT_MS;
    for (;;) {
      const blocks = manager.blocks();
      const registered = blocks.filter((b) => b.live && b.pid !== undefined && b.workers > 0);
      if (registered.length >= this.#blocks) {
        this.#blockPids = registered.map((b) => b.pid!);
        break;
      }
      if (blocks.some((b) => !b.live)) throw new Error(`htex: a block was lost while starting: ${JSON.stringify(blocks)}`);
      if (Date.now() > until) throw new Error(`htex: ${registered.length} of ${this.#blocks} blocks registered within ${REGISTER_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.registeredAfterMs = now() - started;
  }

  async warmUp(sizes: Sizes): Promise<void> {
    // Every block and worker loads both functions; JIT, the streams and the consumers warm up.
    if (sizes.warmup > 0) await throughputRun('htex', sizes.warmup);
    const links = Math.min(sizes.chain, 200);
    await chainRun('htex', links);
    if (this.#awaited) await chainAwaitedRun('htex', links);
  }

  readonly measure = {
    /** N calls of a no-op app, then `Promise.all` on their futures, as a user writes it. */
    throughput: async ({ tasks }: Sizes): Promise<Measured> => {
      const { result: ms, cpu } = await withCpu(this.#roles, tasks, THROUGHPUT_CPU, () => throughputRun('htex', tasks));
      return { value: tasks / (ms / 1000), also: cpu };
    },
    /** Every link submitted at once, each depending on the one before: the DFK releases them. */
    chain: async ({ chain }: Sizes): Promise<Measured> => {
      const { result: ms, cpu } = await withCpu(this.#roles, chain, CHAIN_CPU, () => chainRun('htex', chain));
      return { value: ms / chain, also: cpu };
    },
    /** The script awaits each link before it calls the next one. */
    chainAwaited: async ({ chain }: Sizes): Promise<Measured> => {
      const links = new Float64Array(chain);
      return withLinkPercentiles(await chainAwaitedRun('htex', chain, links), links);
    },
  };

  async stop(): Promise<void> {
    await clear();
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { connectNats } from '../../src/internal.ts';
import { CHAIN_CPU, THROUGHPUT_CPU, withCpu, type CpuRoles } from './cpu.ts';
import { expectEqual, now, withLinkPercentiles, type Measured, type Sizes, type Subject } from './subject.ts';

const RESPONDER_FILE = new URL('../workers/nats-responder.mjs', import.meta.url);

/** A NATS server the benchmark runs against, and how to log in. */
export interface NatsEndpoint {
  url: string;
  user: string;
  password: string;
  /** Its process, for the CPU figures (undefined: not measured). */
  pid: number | undefined;
}

const encode = (value: number): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, value);
  return out;
};
const decode = (data: Uint8Array): number => new DataView(data.buffer, data.byteOffset, 8).getFloat64(0);

type Handler = (value: number) => void;

/**
 * The raw NATS baselines: this process asks, a responder in another process
 * (`workers/nats-responder.mjs`) answers at once, through the same nats-server as the HTEX.
 * No futures, no dependency tracking, no v8 codec, no zod, no actors, no worker threads: the
 * floor of anything that crosses a process boundary through NATS. Two subjects share the
 * connection and the responder: core NATS request/reply, and JetStream (publish to a
 * work-queue stream, the responder consumes and publishes the answer to a second stream, this
 * side consumes it), one message per task, as the HTEX's streams are set up.
 */
export class NatsBaselines {
  readonly #endpoint: NatsEndpoint;
  readonly #window: number;
  readonly #rawTasks: number;
  readonly #id = randomBytes(4).toString('hex');
  readonly #prefix = `bench.${this.#id}`;
  readonly #taskStream = `BENCH_${this.#id}_TASKS`.toUpperCase();
  readonly #resultStream = `BENCH_${this.#id}_RESULTS`.toUpperCase();
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;
  #responder: ChildProcess | undefined;
  #inbox: Subscription | undefined;
  #stopResults: (() => void) | undefined;
  #onReply: Handler = () => {};
  #onResult: Handler = () => {};
  #published = 0;

  constructor(endpoint: NatsEndpoint, window: number, rawTasks: number) {
    this.#endpoint = endpoint;
    this.#window = window;
    this.#rawTasks = rawTasks;
  }

  get #roles(): CpuRoles {
    return {
      driver: [process.pid],
      nats: this.#endpoint.pid === undefined ? [] : [this.#endpoint.pid],
      runners: this.#responder?.pid === undefined ? [] : [this.#responder.pid],
    };
  }

  async start(): Promise<void> {
    const { url, user, password } = this.#endpoint;
    const nc = (this.#nc = await connectNats({ servers: url, user, password }, 'parsl-ts bench requester'));
    const jsm = (this.#jsm = await jetstreamManager(nc));
    this.#js = jetstream(nc);
    // As the HTEX sets up its own two streams (src/actors/htex/nats-setup.ts).
    for (const [name, subject] of [
      [this.#taskStream, `${this.#prefix}.jtasks`],
      [this.#resultStream, `${this.#prefix}.jres`],
    ] as const) {
      await jsm.streams.add({
        name,
        subjects: [subject],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: 120_000_000_000,
      });
    }
    await jsm.consumers.add(this.#taskStream, {
      durable_name: 'responder',
      ack_policy: AckPolicy.Explicit,
      ack_wait: 30_000_000_000,
      max_ack_pending: 100_000,
    });
    await jsm.consumers.add(this.#resultStream, { durable_name: 'requester', ack_policy: AckPolicy.Explicit, max_ack_pending: 100_000 });

    this.#inbox = nc.subscribe(`${this.#prefix}.reply`, {
      callback: (error, msg) => {
        if (!error) this.#onReply(decode(msg.data));
      },
    });
    const results = await (await this.#js.consumers.get(this.#resultStream, 'requester')).consume({ max_messages: 1024 });
    this.#stopResults = () => void results.close();
    void (async () => {
      for await (const msg of results) {
        msg.ack();
        this.#onResult(decode(msg.data));
      }
    })();

    // Plain JavaScript: spawned without this process's flags, so without tsx.
    const responder = spawn(process.execPath, [fileURLToPath(RESPONDER_FILE)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        BENCH_NATS_SERVERS: url,
        BENCH_NATS_USER: user,
        BENCH_NATS_PASSWORD: password,
        BENCH_NATS_PREFIX: this.#prefix,
        BENCH_NATS_TASK_STREAM: this.#taskStream,
        BENCH_NATS_CONSUMER: 'responder',
      },
    });
    this.#responder = responder;
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: responder.stdout! });
      lines.once('line', (line) => (line === 'ready' ? resolve() : reject(new Error(`nats responder said '${line}'`))));
      responder.once('exit', (code) => reject(new Error(`nats responder exited with code ${code} before it was ready`)));
    });
  }

  /** The two subjects; start() first. */
  subjects(): Subject[] {
    return [this.#coreSubject(), this.#jetStreamSubject()];
  }

  #coreSubject(): Subject {
    const send = (value: number): void => this.#nc!.publish(`${this.#prefix}.req`, encode(value), { reply: `${this.#prefix}.reply` });
    return this.#subject('raw NATS req/reply', send, (h) => (this.#onReply = h));
  }

  #jetStreamSubject(): Subject {
    const send = (value: number): void => {
      // Like the HTEX's DFK: the publish is acknowledged asynchronously, never awaited in line.
      this.#js!.publish(`${this.#prefix}.jtasks`, encode(value), { msgID: `q-${++this.#published}` }).catch((error: unknown) => {
        throw error;
      });
    };
    return this.#subject('raw JetStream', send, (h) => (this.#onResult = h));
  }

  #subject(label: string, send: (value: number) => void, onAnswer: (handler: Handler) => void): Subject {
    /** `n` requests, `window` in flight; resolves with the elapsed ms. */
    const pipelined = (n: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const started = now();
        let sent = 0;
        let done = 0;
        onAnswer((value) => {
          if (value !== 1) return reject(new Error(`${label}: unexpected answer ${value}`));
          if (++done === n) return resolve(now() - started);
          if (sent < n) (sent++, send(0));
        });
        for (; sent < Math.min(n, this.#window); sent++) send(0);
      });
    /** `n` sequential round trips, each carrying the last answer; resolves with the elapsed ms. */
    const chain = async (n: number, links?: Float64Array): Promise<number> => {
      const { elapsed, value } = await new Promise<{ elapsed: number; value: number }>((resolve) => {
        const started = now();
        let t = started;
        let i = 0;
        onAnswer((value) => {
          const t2 = now();
          if (links) links[i] = t2 - t;
          t = t2;
          if (++i === n) return resolve({ elapsed: t2 - started, value });
          send(value);
        });
        send(0);
      });
      expectEqual(`${label} chain`, value, n);
      return elapsed;
    };
    return {
      label,
      start: async () => {},
      warmUp: async (sizes: Sizes) => {
        await pipelined(Math.min(this.#rawTasks, 5_000));
        await chain(Math.min(sizes.chain, 200));
      },
      measure: {
        throughput: async (): Promise<Measured> => {
          const n = this.#rawTasks;
          const { result: ms, cpu } = await withCpu(this.#roles, n, THROUGHPUT_CPU, () => pipelined(n));
          return { value: n / (ms / 1000), also: cpu };
        },
        chain: async ({ chain: n }: Sizes): Promise<Measured> => {
          const links = new Float64Array(n);
          const { result: ms, cpu } = await withCpu(this.#roles, n, CHAIN_CPU, () => chain(n, links));
          const measured = withLinkPercentiles(ms, links) as { value: number; also: Record<string, number> };
          return { value: measured.value, also: { ...measured.also, ...cpu } };
        },
      },
      stop: async () => {},
    };
  }

  async stop(): Promise<void> {
    const responder = this.#responder;
    if (responder && responder.exitCode === null) {
      const gone = new Promise<void>((resolve) => responder.once('exit', () => resolve()));
      responder.stdin!.end();
      const timer = setTimeout(() => responder.kill('SIGKILL'), 3_000);
      await gone;
      clearTimeout(timer);
    }
    this.#stopResults?.();
    this.#inbox?.unsubscribe();
    await this.#jsm?.streams.delete(this.#taskStream).catch(() => false);
    await this.#jsm?.streams.delete(this.#resultStream).catch(() => false);
    await this.#nc?.close();
  }
}

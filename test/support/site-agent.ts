/**
 * A NATS client that lives INSIDE a site's network namespace (a test cannot: it runs in the root
 * namespace, and the site's firewall refuses every inbound connection but SSH). Started by
 * `SiteAgent.start()` with `ip netns exec`; it connects to the site's leaf and runs the commands
 * the test sends, one JSON line each way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

type Command =
  | { op: 'addStream'; name: string; subjects: string[]; workQueue?: boolean }
  | { op: 'jsPublish'; subject: string; data: string; msgID: string; timeoutMs?: number }
  | { op: 'subscribe'; subject: string }
  | { op: 'received'; subject: string }
  | { op: 'consumeOne'; domain: string; stream: string; consumer: string; timeoutMs: number }
  | { op: 'request'; subject: string; data: string; timeoutMs: number }
  | { op: 'serve'; subject: string }
  | { op: 'flush' };

/** The test's side: sends commands, awaits answers. */
export class SiteAgent {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  #next = 0;
  #stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr += chunk));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const { id, result, error } = JSON.parse(line) as { id: number; result?: unknown; error?: string };
      const waiter = this.#pending.get(id);
      this.#pending.delete(id);
      if (error !== undefined) waiter?.reject(new Error(error));
      else waiter?.resolve(result);
    });
    child.once('exit', (code) => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`site agent exited (${code}): ${this.#stderr}`));
      this.#pending.clear();
    });
  }

  /** Starts an agent in `netns` connected to `url`; resolves once it is connected. */
  static async start(netns: string, url: string): Promise<SiteAgent> {
    const entry = fileURLToPath(import.meta.url);
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '--import', 'tsx', entry, url], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const agent = new SiteAgent(child);
    await agent.call({ op: 'flush' });
    return agent;
  }

  call<T = any>(command: Command): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.stdin!.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const gone = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGKILL');
    await gone;
  }
}

/** The agent's side, inside the namespace. */
async function main(url: string): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstream, jetstreamManager, RetentionPolicy } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const received = new Map<string, string[]>();
  const run = async (command: Command): Promise<unknown> => {
    switch (command.op) {
      case 'flush':
        return nc.flush();
      case 'addStream': {
        const jsm = await jetstreamManager(nc);
        const retention = command.workQueue ? RetentionPolicy.Workqueue : RetentionPolicy.Limits;
        await jsm.streams.add({ name: command.name, subjects: command.subjects, retention });
        return null;
      }
      case 'jsPublish': {
        // Retried on timeout with the same msgID: the stream keeps it once (duplicate window).
        const js = jetstream(nc, { timeout: command.timeoutMs ?? 2_000 });
        for (let attempt = 1; ; attempt++) {
          try {
            const ack = await js.publish(command.subject, command.data, { msgID: command.msgID });
            return { seq: ack.seq, duplicate: ack.duplicate, attempts: attempt };
          } catch (error) {
            if (attempt > 200) throw error;
          }
        }
      }
      case 'subscribe': {
        const list: string[] = [];
        received.set(command.subject, list);
        const sub = nc.subscribe(command.subject);
        void (async () => {
          for await (const msg of sub) list.push(msg.string());
        })();
        await nc.flush();
        return null;
      }
      case 'received':
        return received.get(command.subject) ?? [];
      case 'consumeOne': {
        const js = jetstream(nc, { domain: command.domain, timeout: command.timeoutMs });
        const consumer = await js.consumers.get(command.stream, command.consumer);
        const msg = await consumer.next({ expires: command.timeoutMs });
        return msg ? msg.string() : null;
      }
      case 'request':
        return (await nc.request(command.subject, command.data, { timeout: command.timeoutMs })).string();
      case 'serve': {
        const sub = nc.subscribe(command.subject);
        void (async () => {
          for await (const msg of sub) msg.respond(msg.data);
        })();
        await nc.flush();
        return null;
      }
    }
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    const { id, ...command } = JSON.parse(line) as Command & { id: number };
    run(command).then(
      (result) => process.stdout.write(`${JSON.stringify({ id, result: result ?? null })}\n`),
      (error: Error) => process.stdout.write(`${JSON.stringify({ id, error: `${error.name}: ${error.message}` })}\n`),
    );
  });
  process.stdin.once('end', () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv[2]!).catch((error) => {
    process.stderr.write(String(error?.stack ?? error));
    process.exit(1);
  });
}

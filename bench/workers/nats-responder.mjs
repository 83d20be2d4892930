// The raw NATS baselines' responder: a plain node process (no tsx, no actors, no worker
// threads, no codec, no validation) that answers at once, so that it stands where an HTEX
// block stands: in another process, on the other side of the same nats-server.
//
//   core NATS    request/reply on BENCH_NATS_PREFIX.req: the reply carries the value + 1.
//   JetStream    pulls from the consumer BENCH_NATS_CONSUMER of the work-queue stream
//                BENCH_NATS_TASK_STREAM, publishes value + 1 to BENCH_NATS_PREFIX.jres (a
//                work-queue stream too), and acks the task once that result is stored: the
//                mechanism a block uses, one message per task.
//
// Values are one float64, 8 bytes. Prints "ready" once it listens; exits when stdin closes.
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';

const env = process.env;
const prefix = env.BENCH_NATS_PREFIX;
const nc = await connect({
  servers: env.BENCH_NATS_SERVERS.split(','),
  user: env.BENCH_NATS_USER || undefined,
  pass: env.BENCH_NATS_PASSWORD || undefined,
  name: 'parsl-ts bench responder',
  // The same connection settings as src/nats/connection.ts.
  maxReconnectAttempts: -1,
  reconnectTimeWait: 100,
  pingInterval: 5_000,
});

const plusOne = (data) => {
  const out = new Uint8Array(8);
  const value = data.length === 8 ? new DataView(data.buffer, data.byteOffset, 8).getFloat64(0) : 0;
  new DataView(out.buffer).setFloat64(0, value + 1);
  return out;
};

nc.subscribe(`${prefix}.req`, { callback: (error, msg) => !error && msg.respond(plusOne(msg.data)) });

const js = jetstream(nc);
const consumer = await js.consumers.get(env.BENCH_NATS_TASK_STREAM, env.BENCH_NATS_CONSUMER);
const messages = await consumer.consume({ max_messages: 1024 });
let published = 0;
void (async () => {
  for await (const msg of messages) {
    js.publish(`${prefix}.jres`, plusOne(msg.data), { msgID: `r-${++published}` }).then(
      () => msg.ack(),
      (error) => process.stderr.write(`responder: result not stored: ${error.message}\n`),
    );
  }
})();

await nc.flush();
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  messages.stop();
  await nc.drain().catch(() => {});
  process.exit(0);
});

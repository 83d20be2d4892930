// A block whose server is gone for good still ends: after the heartbeat threshold it stops,
// and its teardown (the pulls, the workers, the connection's drain, which needs the server)
// is bounded, so the process exits instead of redialling forever.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { AckPolicy, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connectNats, encodeJson, NATS_ENV, NatsServer, subjectsFor } from '../src/internal.ts';
import { BLOCK_CONSUMER } from '../src/nats/protocol.ts';
import { waitFor } from './helpers.ts';

const AUTH = { user: 'parsl', password: 'block-teardown' };

test('block teardown - a block whose server was killed ends after its heartbeat threshold', async () => {
  const server = await NatsServer.start({ auth: AUTH, jetstream: true });
  const runId = `teardown${process.pid}`;
  const subjects = subjectsFor(runId, 'htex');
  const nc = await connectNats({ servers: [server.url], ...AUTH }, 'block-teardown test');
  // Stands in for the DFK: answers the registration, then says nothing (no DFK heartbeats).
  nc.subscribe(subjects.register, {
    callback: (_error, msg) => void msg.respond(encodeJson({ ok: true, heartbeatPeriodMs: 200, heartbeatThresholdMs: 1_000 })),
  });
  // The work queue, empty: the block sits in its pulls (a pull under way when the server goes
  // never ends by itself: the client pauses its timers while it redials).
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: subjects.taskStream, subjects: [subjects.tasks], retention: RetentionPolicy.Workqueue });
  await jsm.consumers.add(subjects.taskStream, { durable_name: BLOCK_CONSUMER, ack_policy: AckPolicy.Explicit });
  let beats = 0;
  nc.subscribe(subjects.blockHeartbeat('0'), { callback: () => void beats++ });
  await nc.flush();
  const args = ['--import', 'tsx', join(process.cwd(), 'src/cli/block.ts'), '--run', runId, '--label', 'htex', '--block-id', '0'];
  args.push('--max-workers', '1', '--heartbeat-period', '200', '--heartbeat-threshold', '1000');
  const block = spawn(process.execPath, args, {
    env: { ...process.env, [NATS_ENV]: JSON.stringify({ servers: [server.url], ...AUTH }) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  block.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let code: number | null | undefined;
  block.once('exit', (c) => (code = c));
  try {
    // Registered and beating: then the server goes, for good, while the block is still working.
    await waitFor(() => beats > 0 || code !== undefined, 'the block to beat', 60_000);
    assert.is(code, undefined, `the block runs (${stderr})`);
    await nc.close();
    process.kill(server.pid!, 'SIGKILL');
    await waitFor(() => code !== undefined, `the block to end without its server (${stderr})`, 60_000);
    assert.is(code, 4, `the block ends because its DFK is gone (${stderr})`);
  } finally {
    if (code === undefined) block.kill('SIGKILL');
    await server.stop();
  }
});

test.run();

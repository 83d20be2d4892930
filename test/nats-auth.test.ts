// The HighThroughputExecutor on a user's own NATS server with token login, and with TLS (a
// certificate made here with openssl, trusted through tls.caFile). Real nats-server processes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { connect } from '@nats-io/transport-node';
import { app, clear, Config, HighThroughputExecutor, load, LocalProvider } from '../src/index.ts';
import { NatsServer } from '../src/internal.ts';
import { deadline, rejection, tempDir } from './helpers.ts';

const work = tempDir();
test.after.each(() => clear());
test.after(() => work.remove());

const twice = app((x: number) => x * 2);

function executor(nats: NonNullable<ConstructorParameters<typeof HighThroughputExecutor>[0]>['nats']): HighThroughputExecutor {
  return new HighThroughputExecutor({
    provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }),
    maxWorkersPerNode: 1,
    heartbeatPeriod: 300,
    // Generous: under load a beat can be late, and a block taken for lost fails the test for nothing.
    heartbeatThreshold: 30_000,
    nats,
  });
}

test('nats - token login on the user\'s server; blocks get the token, others are refused', async () => {
  const server = await NatsServer.start({ extraConfig: 'authorization { token: "tok-123" }' });
  try {
    load(new Config({ executors: [executor({ servers: server.url, token: 'tok-123' })] }));
    assert.equal(await deadline(Promise.all([twice(1), twice(2)]), 60_000), [2, 4]);
    await rejection(connect({ servers: server.url, reconnect: false }), (e) => /authoriz/i.test(String(e.message ?? e)));
  } finally {
    await clear();
    await server.stop();
  }
});

test('nats - NKey login on the user\'s server: blocks sign with the seed, others are refused', async () => {
  const user = createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const server = await NatsServer.start({ extraConfig: `authorization { users: [ { nkey: ${JSON.stringify(user.getPublicKey())} } ] }` });
  try {
    load(new Config({ executors: [executor({ servers: server.url, nkeySeed: seed })] }));
    assert.equal(await deadline(Promise.all([twice(5), twice(6)]), 60_000), [10, 12]);
    await rejection(connect({ servers: server.url, reconnect: false }), (e) => /authoriz/i.test(String(e.message ?? e)));
  } finally {
    await clear();
    await server.stop();
  }
});

test('nats - TLS with the CA given in tls.caFile; a client that does not trust it is refused', async () => {
  const key = join(work.path, 'server.key');
  const cert = join(work.path, 'server.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  const auth = { user: 'parsl', password: 'tls-secret' };
  const server = await NatsServer.start({ auth, extraConfig: `tls { cert_file: ${JSON.stringify(cert)}, key_file: ${JSON.stringify(key)} }` });
  try {
    load(new Config({ executors: [executor({ servers: server.url, ...auth, tls: { caFile: cert } })] }));
    assert.equal(await deadline(Promise.all([twice(3), twice(4)]), 60_000), [6, 8]);
    await rejection(connect({ servers: server.url, ...{ user: auth.user, pass: auth.password }, reconnect: false }), (e) => /certificate|self.signed|tls/i.test(String(e.message ?? e)));
  } finally {
    await clear();
    await server.stop();
  }
});

test.run();

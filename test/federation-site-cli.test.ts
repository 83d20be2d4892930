// `parsl-ts site`: an administrator starts a site's leaf node; it dials the hub with the site's
// credential and serves the site's JetStream domain; it prints what to put in the config, and
// stops its leaf on SIGTERM. Real nats-server on loopback (no namespaces needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { siteCredential } from '../src/nats/leaf.ts';
import { deadline, processAlive, tempDir, waitFor } from './helpers.ts';
import { startHub } from './support/federation.ts';
import { freePort } from './support/sshd.ts';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin', 'parsl-ts.js');
const work = tempDir();
test.after(() => work.remove());

function startSiteCommand(args: string[]) {
  const child = spawn(process.execPath, [bin, 'site', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

test('site - runs a leaf with the site\'s credential, the hub reaches its domain; SIGTERM stops it', async () => {
  const credential = siteCredential('s1');
  const credentialFile = join(work.path, 's1.json');
  writeFileSync(credentialFile, JSON.stringify(credential), { mode: 0o600 });
  const hub = await startHub('127.0.0.1', [credential]);
  const port = await freePort();
  const site = startSiteCommand([
    '--name', 's1', '--hub', `nats://127.0.0.1:${hub.leafPort}`, '--port', String(port), '--listen', '127.0.0.1',
    '--dir', join(work.path, 's1'), '--credential', credentialFile,
  ]);
  try {
    await waitFor(() => /is up/.test(site.output()), 'the site command to start its leaf', 30_000);
    assert.match(site.output(), /JetStream domain 's1'/);
    assert.match(site.output(), /label: 's1'/);
    assert.match(site.output(), new RegExp(`leafUrl: 'nats://<this login node>:${port}'`));
    assert.match(site.output(), new RegExp(`hubListen: '0.0.0.0:${hub.leafPort}'`));
    assert.not.match(site.output(), new RegExp(credential.leaf.password), 'the password is not printed');
    await waitFor(async () => (await hub.leafCount()) === 1, 'the leaf at the hub', 30_000).catch((error) => {
      throw new Error(`${error.message}\n${readFileSync(join(work.path, 's1', 'nats.log'), 'utf8').slice(-3000)}\n--- hub:\n${hub.server.log}`);
    });
    const nc = await hub.connectFor(credential);
    try {
      const jsm = await jetstreamManager(nc, { domain: 's1' });
      await jsm.streams.add({ name: 'PARSL_s1_TASKS', subjects: ['parsl.s1.tasks.>'] });
      // The stream lives at the site: a block connecting to the leaf sees it; a client without
      // the blocks' login is refused.
      const refused = await connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false }).then(
        (nc) => nc.close().then(() => false),
        () => true,
      );
      assert.ok(refused, 'the leaf refuses a client without the blocks\' login');
      const block = await connect({ servers: `nats://127.0.0.1:${port}`, user: credential.blocks!.user, pass: credential.blocks!.password });
      assert.equal(await (await jetstreamManager(block)).streams.names().next(), ['PARSL_s1_TASKS']);
      await block.close();
    } finally {
      await nc.close();
    }
    site.child.kill('SIGTERM');
    assert.is(await deadline(site.exited, 30_000, 'the site command to exit'), 0);
    await waitFor(async () => (await hub.leafCount()) === 0, 'the leaf to be gone', 30_000);
  } finally {
    if (processAlive(site.child.pid)) site.child.kill('SIGKILL');
    await hub.server.stop();
  }
});

test('site - without a credential file, makes one (mode 600) and says so; bad arguments exit 2', async () => {
  const dir = join(work.path, 's2');
  const hubPort = await freePort();
  const site = startSiteCommand(['--name', 's2', '--hub', `nats://127.0.0.1:${hubPort}`, '--port', String(await freePort()), '--listen', '127.0.0.1', '--dir', dir]);
  try {
    await waitFor(() => /is up/.test(site.output()), 'the site command to start its leaf', 30_000);
    assert.match(site.output(), /credential\.json \(new\)/);
    assert.is(statSync(join(dir, 'credential.json')).mode & 0o777, 0o600);
  } finally {
    site.child.kill('SIGTERM');
    await site.exited;
  }
  const bad = startSiteCommand(['--name', 'not a name', '--hub', 'nats://127.0.0.1:1']);
  assert.is(await bad.exited, 2);
  assert.match(bad.output(), /parsl-ts site: site: must be a letter/);
  const missing = startSiteCommand(['--name', 's3']);
  assert.is(await missing.exited, 2);
  assert.match(missing.output(), /--hub is required/);
});

test.run();

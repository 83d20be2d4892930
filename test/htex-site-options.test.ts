// The `site` option of HighThroughputExecutor: each bad input gets a message that names the
// option, says what was expected and shows what was given.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, HighThroughputExecutor } from '../src/index.ts';
import { siteCredential } from '../src/nats/leaf.ts';
import { tempDir } from './helpers.ts';

const work = tempDir();
test.after(() => work.remove());

const good = { name: 'theta', credential: siteCredential('theta'), leafUrl: 'nats://login1:4222', hubListen: '0.0.0.0:7422' };

function message(options: ConstructorParameters<typeof HighThroughputExecutor>[0]): string {
  try {
    new HighThroughputExecutor(options);
  } catch (error) {
    assert.instance(error, ConfigError);
    return (error as Error).message;
  }
  throw new Error('no error');
}

test('site options - a good site resolves: credential, leaf URL, hub listener, default siteLostTimeout', () => {
  const { site } = new HighThroughputExecutor({ label: 'theta', site: good }).options;
  assert.is(site?.name, 'theta');
  assert.equal(site?.hubListen, { host: '0.0.0.0', port: 7422 });
  assert.is(site?.siteLostTimeoutMs, 600_000);
  assert.is(new HighThroughputExecutor({ site: { ...good, siteLostTimeout: '30s' } }).options.site?.siteLostTimeoutMs, 30_000);
});

test('site options - the credential file that `parsl-ts site` wrote is read; a missing or foreign one is named', () => {
  const file = join(work.path, 'credential.json');
  writeFileSync(file, JSON.stringify(siteCredential('theta')));
  const { credential: _, ...rest } = good;
  assert.is(new HighThroughputExecutor({ site: { ...rest, credentialFile: file } }).options.site?.credential.site, 'theta');
  assert.match(message({ site: { ...rest, credentialFile: join(work.path, 'none.json') } }), /site\.credentialFile: cannot read .*none\.json.*parsl-ts site --name theta/);
  const foreign = join(work.path, 'foreign.json');
  writeFileSync(foreign, JSON.stringify(siteCredential('cori')));
  assert.match(message({ site: { ...rest, credentialFile: foreign } }), /foreign\.json is the credential of site 'cori', not 'theta'/);
  writeFileSync(foreign, '{"hello": 1}');
  assert.match(message({ site: { ...rest, credentialFile: foreign } }), /is not a site credential/);
});

test('site options - each mistake names its field', () => {
  const { credential: _, ...rest } = good;
  assert.match(message({ site: rest }), /site\.credentialFile: give one of 'credential' and 'credentialFile'/);
  assert.match(message({ site: { ...good, credentialFile: '/x' } }), /give one of/);
  assert.match(message({ site: { ...good, name: '1st' } }), /site\.name: expected a letter then .*; got '1st'/);
  assert.match(message({ site: { ...good, credential: siteCredential('cori') } }), /site\.credential\.site: is the credential of another site/);
  assert.match(message({ site: { ...good, hubListen: '7422' } }), /site\.hubListen: expected 'HOST:PORT'.*; got '7422'/);
  const { hubListen: __, ...noListen } = good;
  assert.match(message({ site: noListen }), /site\.hubListen: needs hubListen/);
  // With your own hub (nats.servers), the embedded hub's listener is not needed.
  assert.ok(new HighThroughputExecutor({ site: noListen, nats: { servers: 'nats://hub:4222' } }));
  assert.match(message({ site: { ...good, siteLostTimeout: 'soon' } }), /site\.siteLostTimeout/);
  assert.match(message({ site: { ...good, leafURL: 'x' } as never }), /site: unknown option 'leafURL'/);
  assert.match(message({ site: { ...good, tunnel: { remotePort: 7422 } } }), /site\.tunnel: runs over the provider's channel, which must be an SSHChannel .*; got LocalChannel/);
  assert.match(message({ site: { ...good, tunnel: { remotePort: 0 } } }), /site\.tunnel\.remotePort/);
  assert.match(message({ site: { ...good, startLeaf: {} } }), /site\.startLeaf\.hub: needs hub: the hub's leaf-node URL/);
  assert.match(message({ site: { ...good, startLeaf: { hub: 'hub:7422' } } }), /site\.startLeaf\.hub: expected 'nats:\/\/HOST:PORT'; got 'hub:7422'/);
  assert.is(new HighThroughputExecutor({ site: { ...good, startLeaf: { hub: 'nats://hub:7422' } } }).options.site?.startLeaf?.listen, '0.0.0.0');
});

test.run();

/**
 * SSHChannel and SSHInteractiveLoginChannel against real servers started here: OpenSSH's sshd
 * on a loopback port (test/support/sshd.ts) and, for custom 2FA prompts, ssh2's own Server
 * (test/fixtures/ssh-2fa-server.ts). Needs root (sshd, useradd) and openssh-server.
 */
import { rejects } from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/common/errors.ts';
import { ChannelTimeoutError } from '../src/providers/channels/errors.ts';
import {
  checkHostKey,
  fingerprintOf,
  hostsFieldMatches,
  knownHostsName,
  parseKnownHosts,
} from '../src/providers/channels/known-hosts.ts';
import {
  ChannelAuthError,
  ChannelClosedError,
  ChannelConnectError,
  ChannelDisconnectedError,
  HostKeyChangedError,
  HostKeyUnknownError,
  LoginPromptError,
} from '../src/providers/channels/ssh-errors.ts';
import { askOnTerminal, SSHInteractiveLoginChannel, type LoginPrompt, type LoginPromptInfo } from '../src/providers/channels/ssh-interactive.ts';
import { SSHChannel, type SSHChannelOptions } from '../src/providers/channels/ssh.ts';
import { CODE_ROUND, PASSWORD_ROUND, startTwoFactorServer } from './fixtures/ssh-2fa-server.ts';
import { deadline, tempDir } from './helpers.ts';
import { freePort, generateKey, Sshd } from './support/sshd.ts';

const PAM_USER = 'parslts-ssh';
const PAM_PASSWORD = 'pam-Passw0rd';

let sshd: Sshd;
let tmp: { path: string; remove: () => void };
let knownHosts: string;
const open: SSHChannel[] = [];

test.before(async () => {
  tmp = tempDir('parsl-ts-ssh-');
  sshd = await Sshd.start();
  knownHosts = join(tmp.path, 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
});

test.after.each(async () => {
  await Promise.all(open.splice(0).map((channel) => channel.close()));
});

test.after(async () => {
  await sshd?.stop();
  tmp?.remove();
});

/** A key-authenticated channel to the test sshd, closed after the test. */
function channel(options: Partial<SSHChannelOptions> = {}): SSHChannel {
  const made = new SSHChannel({
    hostname: sshd.host,
    port: sshd.port,
    username: 'root',
    privateKeyPath: sshd.clientKeyPath,
    knownHostsPath: knownHosts,
    agent: false,
    ...options,
  });
  open.push(made);
  return made;
}

function track<C extends SSHChannel>(made: C): C {
  open.push(made);
  return made;
}

/**
 * This process's mark on the names of remote commands and files: a second copy of the suite
 * running beside this one (CI, another developer) must not see or remove ours, nor we theirs.
 */
const mark = String(process.pid);

/** Pids of local processes whose command line matches `pattern` (the servers run on this machine). */
function pgrep(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Polls `check` until it holds; the test's deadline bounds the wait (nothing asserts on time). */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 25));
}

/** A non-root user with a password, for PAM's keyboard-interactive (root never passes it: INFRA.md). */
function ensurePamUser(): void {
  try {
    execFileSync('id', [PAM_USER], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('useradd', ['-m', '-s', '/bin/sh', PAM_USER], { stdio: 'pipe' });
    } catch (error) {
      // A second copy of the suite may have added the user in the meantime (useradd exits 9).
      if ((error as { status?: number }).status !== 9) throw error;
    }
  }
  execFileSync('chpasswd', { input: `${PAM_USER}:${PAM_PASSWORD}\n` });
}

// ---------------------------------------------------------------------------------------------
// exec

test('exec - stdout, stderr and exit code', async () => {
  await deadline(
    (async () => {
      const ch = channel();
      const result = await ch.exec('echo out; echo err >&2; printf "é\\n"; exit 3');
      assert.equal(result, { exitCode: 3, stdout: 'out\né\n', stderr: 'err\n' });
      const ok = await ch.exec('true');
      assert.equal(ok, { exitCode: 0, stdout: '', stderr: '' });
      // stdin is /dev/null: a command that reads it ends at once.
      assert.is((await ch.exec('cat; echo done')).stdout, 'done\n');
      // 'exit' inside the command ends only the command.
      assert.is((await ch.exec('echo a; exit 4; echo b')).exitCode, 4);
    })(),
  );
});

test('exec - env and cwd', async () => {
  await deadline(
    (async () => {
      const ch = channel();
      const dir = join(tmp.path, "work dir 'quoted'");
      mkdirSync(dir);
      const result = await ch.exec('echo "$GREETING|$OTHER"; pwd', { env: { GREETING: "it's a \"test\" $HOME", OTHER: 'x y' }, cwd: dir });
      assert.is(result.exitCode, 0, result.stderr);
      assert.is(result.stdout, `it's a "test" $HOME|x y\n${dir}\n`);
      // A cwd that does not exist fails the call before the command runs, even with '||' in it.
      const missing = await ch.exec('echo ran || echo also-ran', { cwd: join(tmp.path, 'nope') });
      assert.not.equal(missing.exitCode, 0);
      assert.is(missing.stdout, '');
      assert.match(missing.stderr, 'nope');
      await rejects(ch.exec('true', { env: { 'BAD-NAME': 'x' } }), (e: unknown) => e instanceof ConfigError && /env\.BAD-NAME/.test(e.message));
    })(),
  );
});

test('exec - timeout kills the command and rejects with ChannelTimeoutError', async () => {
  await deadline(
    (async () => {
      const ch = channel();
      await rejects(ch.exec(`echo started; sleep 1017.${mark}; echo late`, { timeoutMs: 300 }), (e: unknown) => {
        assert.instance(e, ChannelTimeoutError);
        assert.match((e as Error).message, `sleep 1017.${mark}`);
        assert.match((e as Error).message, '300 ms');
        // Made at the call site: the stack points at this test.
        assert.match((e as Error).stack ?? '', 'ssh-channel.test.ts');
        return true;
      });
      // The remote command is gone too (killed with its process group), not just abandoned.
      await until(() => pgrep(`sleep 101[7][.]${mark}`).length === 0);
      // The channel goes on working.
      assert.is((await ch.exec('echo still here')).stdout, 'still here\n');
    })(),
  );
});

test('exec - concurrent commands share one connection', async () => {
  await deadline(
    (async () => {
      const before = sshd.acceptedLogins();
      const ch = channel();
      const results = await Promise.all(Array.from({ length: 14 }, (_, i) => ch.exec(`sleep 0.2; echo ${i}`)));
      assert.equal(
        results.map((r) => r.stdout.trim()),
        Array.from({ length: 14 }, (_, i) => String(i)),
      );
      assert.is(ch.connectionCount, 1);
      assert.is(sshd.acceptedLogins() - before, 1);
    })(),
  );
});

test('exec - a server that allows fewer sessions (MaxSessions 2) gets the rest queued', async () => {
  const small = await Sshd.start({ extraConfig: ['MaxSessions 2'] });
  try {
    await deadline(
      (async () => {
        const kh = join(tmp.path, 'known_hosts_small');
        writeFileSync(kh, `${small.knownHostsLine}\n`);
        const ch = track(
          new SSHChannel({ hostname: small.host, port: small.port, username: 'root', privateKeyPath: small.clientKeyPath, knownHostsPath: kh, agent: false }),
        );
        const results = await Promise.all(Array.from({ length: 7 }, (_, i) => ch.exec(`sleep 0.2; echo ${i}`)));
        assert.equal(
          results.map((r) => r.stdout.trim()),
          Array.from({ length: 7 }, (_, i) => String(i)),
        );
        // Files go through SFTP, which needs a session too.
        const [a, b] = [`small-a-${mark}.txt`, `small-b-${mark}.txt`];
        await Promise.all([ch.writeFile(a, 'a'), ch.exec('echo x'), ch.exec('echo y'), ch.writeFile(b, 'b')]);
        assert.is((await ch.exec(`cat ${a} ${b}; rm ${a} ${b}`)).stdout, 'ab');
        assert.is(ch.connectionCount, 1);
      })(),
    );
  } finally {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await small.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// files

test('files - makeDirs, writeFile, push and pull round trip', async () => {
  await deadline(
    (async () => {
      const ch = channel();
      const remote = join(tmp.path, 'remote', 'a', 'b');
      await ch.makeDirs(remote);
      await ch.makeDirs(remote); // already there: fine
      assert.ok(statSync(remote).isDirectory());

      const script = join(remote, 'submit.sh');
      await ch.writeFile(script, '#!/bin/sh\necho from script\n', 0o750);
      assert.is((statSync(script).mode & 0o777).toString(8), '750');
      assert.is((await ch.exec(script)).stdout, 'from script\n');
      await ch.writeFile(script, 'short\n'); // overwrite: content replaced, mode back to the default
      assert.is(readFileSync(script, 'utf8'), 'short\n');
      assert.is((statSync(script).mode & 0o777).toString(8), '644');

      const local = join(tmp.path, 'payload.bin');
      const payload = Buffer.alloc(300_000, 0);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
      writeFileSync(local, payload, { mode: 0o700 });
      const pushed = await ch.push(local, join(tmp.path, 'remote', 'new', 'dir'));
      assert.is(pushed, join(tmp.path, 'remote', 'new', 'dir', 'payload.bin'));
      assert.ok(readFileSync(pushed).equals(payload));
      assert.is((statSync(pushed).mode & 0o777).toString(8), '700');

      const pulled = await ch.pull(pushed, join(tmp.path, 'pulled'));
      assert.is(pulled, join(tmp.path, 'pulled', 'payload.bin'));
      assert.ok(readFileSync(pulled).equals(payload));

      // Relative and ~/ paths are under the remote login directory (root's home here).
      await ch.writeFile(`~/.parsl-ts-ssh-test-${mark}.txt`, 'home\n');
      assert.is((await ch.exec(`cat .parsl-ts-ssh-test-${mark}.txt; rm .parsl-ts-ssh-test-${mark}.txt`)).stdout, 'home\n');
      assert.is(ch.scriptDir, '.parsl-ts/scripts');

      await rejects(ch.pull(join(tmp.path, 'no-such-file'), tmp.path), /pull .*no-such-file failed/);
      assert.is(ch.connectionCount, 1);
    })(),
  );
});

// ---------------------------------------------------------------------------------------------
// host keys

test('host keys - an unknown key is refused under strict, with fingerprint, file and the line to add', async () => {
  await deadline(
    (async () => {
      const empty = join(tmp.path, 'known_hosts_empty');
      writeFileSync(empty, '# nothing known\nother.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n');
      const ch = channel({ knownHostsPath: empty });
      // The fingerprint as OpenSSH computes it, independently of our code.
      const fingerprint = execFileSync('ssh-keygen', ['-lf', `${sshd.hostKeyPath}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
      await rejects(ch.exec('true'), (e: unknown) => {
        assert.instance(e, HostKeyUnknownError);
        const message = (e as Error).message;
        assert.match(message, `[127.0.0.1]:${sshd.port}`);
        assert.match(message, fingerprint);
        assert.match(message, empty);
        assert.match(message, sshd.knownHostsLine);
        assert.match(message, 'accept-new');
        assert.is((e as HostKeyUnknownError).fingerprint, fingerprint);
        return true;
      });
      assert.not.match(readFileSync(empty, 'utf8'), String(sshd.port));
    })(),
  );
});

test('host keys - accept-new adds a new key to known_hosts, then strict accepts it', async () => {
  await deadline(
    (async () => {
      const fresh = join(tmp.path, 'fresh', '.ssh', 'known_hosts'); // neither file nor directory exists yet
      const ch = channel({ knownHostsPath: fresh, hostKeyPolicy: 'accept-new' });
      assert.is((await ch.exec('echo trusted')).stdout, 'trusted\n');
      assert.is(readFileSync(fresh, 'utf8'), `${sshd.knownHostsLine}\n`);
      // OpenSSH itself reads what we wrote.
      const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', fresh], { encoding: 'utf8' });
      assert.match(found, 'ssh-ed25519');
      const strict = channel({ knownHostsPath: fresh });
      assert.is((await strict.exec('echo known')).stdout, 'known\n');
      assert.is(readFileSync(fresh, 'utf8').trim().split('\n').length, 1);
    })(),
  );
});

test('host keys - a changed key is refused, under accept-new too', async () => {
  await deadline(
    (async () => {
      const otherKey = join(tmp.path, 'other_host_key');
      const otherPublic = await generateKey(otherKey);
      const [type, blob] = otherPublic.split(' ');
      const changed = join(tmp.path, 'known_hosts_changed');
      const content = `[127.0.0.1]:${sshd.port} ${type} ${blob}\n`;
      writeFileSync(changed, content);
      for (const hostKeyPolicy of ['accept-new', 'strict'] as const) {
        const ch = channel({ knownHostsPath: changed, hostKeyPolicy });
        await rejects(ch.exec('true'), (e: unknown) => {
          assert.instance(e, HostKeyChangedError);
          const message = (e as Error).message;
          assert.match(message, 'HOST KEY CHANGED');
          assert.match(message, `[127.0.0.1]:${sshd.port}`);
          assert.match(message, fingerprintOf(Buffer.from(sshd.hostPublicKey.split(' ')[1]!, 'base64')));
          assert.match(message, fingerprintOf(blob!));
          assert.match(message, changed);
          assert.match(message, 'ssh-keygen -R');
          return true;
        });
      }
      assert.is(readFileSync(changed, 'utf8'), content);
    })(),
  );
});

test('host keys - hashed known_hosts entries (ssh-keygen -H) are matched', async () => {
  await deadline(
    (async () => {
      const hashed = join(tmp.path, 'known_hosts_hashed');
      writeFileSync(hashed, `${sshd.knownHostsLine}\n`);
      execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
      const text = readFileSync(hashed, 'utf8');
      assert.match(text, /^\|1\|/);
      assert.not.match(text, '127.0.0.1');
      const ch = channel({ knownHostsPath: hashed });
      assert.is((await ch.exec('echo hashed')).stdout, 'hashed\n');
    })(),
  );
});

test('known_hosts - host patterns, [host]:port, markers and revoked keys', () => {
  const key = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIKMOQ5QwKGyjxbI/vNz/5t0I90gvTUdBXWRf7A1ffRLg', 'base64');
  const other = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
  const b64 = key.toString('base64');
  assert.is(knownHostsName('Login.Example.org', 22), 'login.example.org');
  assert.is(knownHostsName('login', 2222), '[login]:2222');
  assert.ok(hostsFieldMatches('a.example.org,*.cluster.org', 'login1.cluster.org'));
  assert.ok(hostsFieldMatches('login?.cluster.org', 'login1.cluster.org'));
  assert.not.ok(hostsFieldMatches('*.cluster.org,!bad.cluster.org', 'bad.cluster.org'));
  assert.ok(hostsFieldMatches('[login]:2222', '[login]:2222'));
  assert.not.ok(hostsFieldMatches('login', '[login]:2222'));
  const entries = parseKnownHosts(
    [
      '# comment',
      '',
      `@cert-authority *.cluster.org ssh-ed25519 ${other}`,
      `login.cluster.org ssh-ed25519 ${b64} comment here`,
      `changed.cluster.org ssh-ed25519 ${other}`,
      `@revoked * ssh-ed25519 ${other}`,
      'malformed-line-without-key',
      `@unknown-marker x ssh-ed25519 ${b64}`,
    ].join('\n'),
  );
  assert.is(entries.length, 4);
  assert.is(entries[1]!.line, 4);
  assert.is(checkHostKey(entries, 'login.cluster.org', key).status, 'known');
  assert.is(checkHostKey(entries, 'new.cluster.org', key).status, 'unknown');
  const changed = checkHostKey(entries.filter((e) => e.marker !== 'revoked'), 'changed.cluster.org', key);
  assert.is(changed.status, 'changed');
  assert.is(checkHostKey(entries, 'anything', Buffer.from(other, 'base64')).status, 'revoked');
  // The fingerprint OpenSSH prints for the same key.
  const pub = join(tmp.path, 'fingerprint.pub');
  writeFileSync(pub, `ssh-ed25519 ${b64}\n`);
  assert.is(fingerprintOf(key), execFileSync('ssh-keygen', ['-lf', pub], { encoding: 'utf8' }).split(' ')[1]);
});

// ---------------------------------------------------------------------------------------------
// connection reuse and recovery

test('connection - one connection carries every command and file operation', async () => {
  await deadline(
    (async () => {
      const before = sshd.acceptedLogins();
      const ch = channel();
      await ch.exec('true');
      await ch.writeFile(join(tmp.path, 'reuse.txt'), 'x');
      await Promise.all([ch.exec('true'), ch.pull(join(tmp.path, 'reuse.txt'), join(tmp.path, 'reuse-pulled')), ch.exec('true')]);
      await ch.exec('true');
      assert.is(ch.connectionCount, 1);
      assert.is(sshd.acceptedLogins() - before, 1);
    })(),
  );
});

test('connection - re-opened after the server drops it, and after sshd restarts', async () => {
  await deadline(
    (async () => {
      const before = sshd.acceptedLogins();
      const ch = channel();
      assert.is((await ch.exec('echo one')).stdout, 'one\n');
      assert.ok(sshd.dropConnections() > 0, 'expected a server process to kill');
      assert.is((await ch.exec('echo two')).stdout, 'two\n');
      assert.is(ch.connectionCount, 2);
      await sshd.restart();
      assert.is((await ch.exec('echo three')).stdout, 'three\n');
      await ch.writeFile(join(tmp.path, 'after-restart.txt'), 'ok');
      assert.is(ch.connectionCount, 3);
      assert.is(sshd.acceptedLogins() - before, 3);
    })(),
  );
});

test('connection - a command running when the connection drops rejects with ChannelDisconnectedError', async () => {
  await deadline(
    (async () => {
      const ch = channel();
      const running = ch.exec(`sleep 1019.${mark}`);
      await until(() => pgrep(`sleep 101[9][.]${mark}`).length > 0);
      sshd.dropConnections();
      await rejects(running, (e: unknown) => e instanceof ChannelDisconnectedError && (e as Error).message.includes(`sleep 1019.${mark}`));
      // The watchdog saw its session end and killed the command.
      await until(() => pgrep(`sleep 101[9][.]${mark}`).length === 0);
      assert.is((await ch.exec('echo back')).stdout, 'back\n');
    })(),
  );
});

test('connection - refused port and a silent server give ChannelConnectError', async () => {
  const silent = createServer(() => {}); // accepts TCP, never says a word
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    await deadline(
      (async () => {
        const port = (silent.address() as AddressInfo).port;
        const quiet = channel({ port, connectTimeoutMs: 300 });
        await rejects(quiet.exec('true'), (e: unknown) => e instanceof ChannelConnectError && /connectTimeoutMs/.test((e as Error).message));
        const closedPort = await freePort();
        const refused = channel({ port: closedPort });
        await rejects(refused.exec('true'), (e: unknown) => e instanceof ChannelConnectError && /ECONNREFUSED/.test((e as Error).message));
        // A failed attempt is not kept: the next call tries again (and fails again here).
        await rejects(refused.exec('true'), ChannelConnectError);
        assert.is(refused.connectionCount, 2);
      })(),
    );
  } finally {
    silent.close();
  }
});

test('close - calls after close reject with ChannelClosedError', async () => {
  await deadline(
    (async () => {
      const ch = channel();
      await ch.exec('true');
      await ch.close();
      await ch.close();
      await rejects(ch.exec('true'), ChannelClosedError);
      await rejects(ch.writeFile('x', 'y'), ChannelClosedError);
      // Closing while the first connection is still being made.
      const early = channel();
      const pending = early.exec('true');
      await early.close();
      await rejects(pending, ChannelClosedError);
    })(),
  );
});

// ---------------------------------------------------------------------------------------------
// authentication

test('auth - a key the server does not know is refused with ChannelAuthError', async () => {
  await deadline(
    (async () => {
      const stranger = join(tmp.path, 'stranger_key');
      await generateKey(stranger);
      const ch = channel({ privateKeyPath: stranger });
      await rejects(ch.exec('true'), (e: unknown) => e instanceof ChannelAuthError && /publickey/.test((e as Error).message));
      const locked = join(tmp.path, 'locked_key');
      await generateKey(locked, 'ed25519', 'right passphrase');
      const wrong = channel({ privateKeyPath: locked, passphrase: 'wrong passphrase' });
      await rejects(wrong.exec('true'), (e: unknown) => e instanceof ConfigError && e.path === 'SSHChannel.privateKeyPath');
    })(),
  );
});

test('keyboard-interactive - PAM password through onPrompt (real sshd, non-root user)', async () => {
  ensurePamUser();
  await deadline(
    (async () => {
      const seen: Array<{ prompts: LoginPrompt[]; info: LoginPromptInfo }> = [];
      const ch = track(
        new SSHInteractiveLoginChannel({
          hostname: sshd.host,
          port: sshd.port,
          username: PAM_USER,
          knownHostsPath: knownHosts,
          agent: false,
          onPrompt: async (prompts, info) => {
            seen.push({ prompts, info });
            return prompts.map(() => PAM_PASSWORD);
          },
        }),
      );
      const result = await ch.exec('id -un');
      assert.is(result.stdout, `${PAM_USER}\n`);
      assert.is(seen.length, 1);
      assert.equal(seen[0]!.prompts, [{ prompt: 'Password: ', echo: false }]);
      assert.is(seen[0]!.info.username, PAM_USER);
      assert.match(sshd.log(), `Accepted keyboard-interactive/pam for ${PAM_USER}`);

      const wrong = track(
        new SSHInteractiveLoginChannel({
          hostname: sshd.host,
          port: sshd.port,
          username: PAM_USER,
          knownHostsPath: knownHosts,
          agent: false,
          onPrompt: (prompts) => prompts.map(() => 'not the password'),
        }),
      );
      await rejects(wrong.exec('true'), (e: unknown) => e instanceof ChannelAuthError && /keyboard-interactive/.test((e as Error).message));
    })(),
  );
});

test('keyboard-interactive - a plain SSHChannel with a password passes PAM prompts', async () => {
  ensurePamUser();
  await deadline(
    (async () => {
      const ch = channel({ username: PAM_USER, privateKeyPath: undefined, password: PAM_PASSWORD });
      assert.is((await ch.exec('id -un')).stdout, `${PAM_USER}\n`);
    })(),
  );
});

test('exec - a session refused while none of ours is open is tried again (the server frees closed sessions late)', async () => {
  // OpenSSH at MaxSessions, under load, refuses a new session for a moment after the client saw
  // the last one close: with no session of ours open, that is not the server's limit.
  const server = await startTwoFactorServer({ username: 'alice', password: 'pw-1', code: '424242', refuseSessions: 2 });
  try {
    await deadline(
      (async () => {
        const kh = join(tmp.path, 'known_hosts_refusing');
        writeFileSync(kh, `${server.knownHostsLine}\n`);
        const ch = track(
          new SSHInteractiveLoginChannel({
            hostname: '127.0.0.1',
            port: server.port,
            username: 'alice',
            knownHostsPath: kh,
            agent: false,
            onPrompt: async (prompts) => prompts.map((p) => (p.prompt === CODE_ROUND.prompt ? '424242' : 'pw-1')),
          }),
        );
        assert.equal(await ch.exec('echo served'), { exitCode: 0, stdout: 'served\n', stderr: '' });
        assert.is(server.refused, 2);
        assert.is(ch.connectionCount, 1);
      })(),
    );
  } finally {
    await server.stop();
  }
});

test('exec - an exit status that arrives with the reply to the exec request is not lost', async () => {
  // A quick command's exit-status can come in the same read as the exec reply, before the
  // channel listens for it; it used to end as "connection lost while running" (seen at load).
  const server = await startTwoFactorServer({ username: 'alice', password: 'pw-1', code: '424242' });
  try {
    await deadline(
      (async () => {
        const kh = join(tmp.path, 'known_hosts_quick');
        writeFileSync(kh, `${server.knownHostsLine}\n`);
        const ch = track(
          new SSHInteractiveLoginChannel({
            hostname: '127.0.0.1',
            port: server.port,
            username: 'alice',
            knownHostsPath: kh,
            agent: false,
            onPrompt: async (prompts) => prompts.map((p) => (p.prompt === CODE_ROUND.prompt ? '424242' : 'pw-1')),
          }),
        );
        for (let i = 0; i < 20; i++) {
          assert.equal(await ch.exec(`exit-at-once ${i}`), { exitCode: i, stdout: '', stderr: '' });
        }
      })(),
    );
  } finally {
    await server.stop();
  }
});

test('keyboard-interactive - custom 2FA prompts (ssh2 Server): two rounds, then a wrong code refused', async () => {
  const server = await startTwoFactorServer({ username: 'alice', password: 'pw-1', code: '424242' });
  try {
    await deadline(
      (async () => {
        const kh = join(tmp.path, 'known_hosts_2fa');
        writeFileSync(kh, `${server.knownHostsLine}\n`);
        const rounds: Array<{ prompts: LoginPrompt[]; info: LoginPromptInfo }> = [];
        const make = (code: string): SSHInteractiveLoginChannel =>
          track(
            new SSHInteractiveLoginChannel({
              hostname: '127.0.0.1',
              port: server.port,
              username: 'alice',
              knownHostsPath: kh,
              agent: false,
              onPrompt: async (prompts, info) => {
                rounds.push({ prompts, info });
                return prompts.map((p) => (p.prompt === CODE_ROUND.prompt ? code : 'pw-1'));
              },
            }),
          );
        const ch = make('424242');
        const result = await ch.exec('echo "$((6 * 7))"; echo oops >&2; exit 5');
        assert.equal(result, { exitCode: 5, stdout: '42\n', stderr: 'oops\n' });
        assert.equal(
          rounds.map((r) => ({ prompts: r.prompts, name: r.info.name, instructions: r.info.instructions })),
          [
            { prompts: [{ prompt: PASSWORD_ROUND.prompt, echo: false }], name: PASSWORD_ROUND.name, instructions: PASSWORD_ROUND.instructions },
            { prompts: [{ prompt: CODE_ROUND.prompt, echo: true }], name: CODE_ROUND.name, instructions: CODE_ROUND.instructions },
          ],
        );
        // Reused: a second command does not log in (nor prompt) again.
        await ch.exec('true');
        assert.is(server.logins, 1);
        assert.is(rounds.length, 2);

        rounds.length = 0;
        const wrong = make('000000');
        await rejects(wrong.exec('true'), (e: unknown) => e instanceof ChannelAuthError && /keyboard-interactive/.test((e as Error).message));
        assert.is(server.logins, 1);
        assert.equal(server.answers.slice(-1), [['000000']]);

        // A callback that throws ends the login with LoginPromptError, its error as the cause.
        const failing = track(
          new SSHInteractiveLoginChannel({
            hostname: '127.0.0.1',
            port: server.port,
            username: 'alice',
            knownHostsPath: kh,
            agent: false,
            onPrompt: () => {
              throw new Error('token device unplugged');
            },
          }),
        );
        await rejects(failing.exec('true'), (e: unknown) => {
          assert.instance(e, LoginPromptError);
          assert.match((e as Error).message, 'token device unplugged');
          assert.instance((e as Error).cause, Error);
          return true;
        });

        // No callback and no terminal: a clear error instead of a hang.
        const stdin = process.stdin;
        const hadOwn = Object.prototype.hasOwnProperty.call(stdin, 'isTTY');
        const previous = stdin.isTTY;
        Object.defineProperty(stdin, 'isTTY', { value: false, configurable: true, writable: true });
        try {
          const silent = track(
            new SSHInteractiveLoginChannel({ hostname: '127.0.0.1', port: server.port, username: 'alice', knownHostsPath: kh, agent: false }),
          );
          await rejects(silent.exec('true'), (e: unknown) => {
            assert.instance(e, LoginPromptError);
            assert.match((e as Error).message, 'Password: ');
            assert.match((e as Error).message, 'no onPrompt');
            return true;
          });
        } finally {
          if (hadOwn) Object.defineProperty(stdin, 'isTTY', { value: previous, configurable: true, writable: true });
          else delete (stdin as { isTTY?: boolean }).isTTY;
        }
      })(),
    );
  } finally {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await server.stop();
  }
});

test('keyboard-interactive - terminal prompts hide input unless the server allows echo', async () => {
  await deadline(
    (async () => {
      const modes: boolean[] = [];
      const input = Object.assign(new PassThrough(), {
        isTTY: true,
        isRaw: false,
        setRawMode(mode: boolean) {
          modes.push(mode);
          input.isRaw = mode;
        },
      });
      const output = new PassThrough();
      let shown = '';
      output.on('data', (chunk: Buffer) => (shown += chunk.toString()));
      const answers = askOnTerminal(
        [
          { prompt: 'Password: ', echo: false },
          { prompt: 'Code: ', echo: true },
        ],
        { name: 'Login', instructions: 'Two steps', hostname: 'h', username: 'u' },
        { input, output },
      );
      input.write('s3crex\u007ft\r');
      await until(() => shown.includes('Code: '));
      input.write('1234');
      input.write('56\n');
      assert.equal(await answers, ['s3cret', '123456']);
      assert.match(shown, 'Login\nTwo steps\nPassword: ');
      assert.not.match(shown, 's3cre');
      assert.match(shown, 'Code: 123456');
      assert.equal(modes, [true, false, true, false]);

      const cancelled = askOnTerminal([{ prompt: 'Password: ', echo: false }], { name: '', instructions: '', hostname: 'h', username: 'u' }, { input, output });
      input.write('abc\u0003');
      await rejects(cancelled, LoginPromptError);
    })(),
  );
});

// ---------------------------------------------------------------------------------------------
// options

test('options - errors name the option path', () => {
  const configError = (make: () => unknown): ConfigError => {
    try {
      make();
    } catch (error) {
      assert.instance(error, ConfigError);
      return error as ConfigError;
    }
    throw new Error('expected a ConfigError');
  };
  const port = configError(() => new SSHChannel({ hostname: 'h', port: 70_000 }));
  assert.is(port.path, 'SSHChannel.port');
  assert.match(port.message, 'got 70000');
  assert.match(configError(() => new SSHChannel({ hostname: 'h', hostName: 'x' } as never)).message, "unknown option 'hostName'");
  assert.is(configError(() => new SSHChannel({ hostname: '' })).path, 'SSHChannel.hostname');
  assert.is(configError(() => new SSHChannel({ hostname: 'h', hostKeyPolicy: 'yes' as never })).path, 'SSHChannel.hostKeyPolicy');
  const both = configError(() => new SSHChannel({ hostname: 'h', privateKey: 'k', privateKeyPath: '/k' }));
  assert.match(both.message, "'privateKey' and 'privateKeyPath' are mutually exclusive");
  assert.is(configError(() => new SSHChannel({ hostname: 'h', connectTimeoutMs: -1 })).path, 'SSHChannel.connectTimeoutMs');
  const prompt = configError(() => new SSHInteractiveLoginChannel({ hostname: 'h', onPrompt: 'yes' as never }));
  assert.is(prompt.path, 'SSHInteractiveLoginChannel.onPrompt');
  assert.is(configError(() => new SSHInteractiveLoginChannel({ hostname: 'h', port: 0 })).path, 'SSHInteractiveLoginChannel.port');
  const saved = process.env.SSH_AUTH_SOCK;
  delete process.env.SSH_AUTH_SOCK;
  try {
    assert.is(configError(() => new SSHChannel({ hostname: 'h', agent: true })).path, 'SSHChannel.agent');
  } finally {
    if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
  }

  const defaults = new SSHChannel({ hostname: 'h', agent: false, knownHostsPath: '~/kh' });
  assert.is(defaults.options.port, 22);
  assert.is(defaults.options.hostKeyPolicy, 'strict');
  assert.is(defaults.options.knownHostsPath.endsWith('/kh') && !defaults.options.knownHostsPath.startsWith('~'), true);
  assert.is(defaults.description, `ssh ${defaults.options.username}@h:22`);
  // Logs and JSON show where a channel goes, not its secrets.
  const secret = new SSHChannel({ hostname: 'h', username: 'u', password: 'hunter2', agent: false });
  assert.is(inspect(secret), 'SSHChannel { ssh u@h:22 }');
  assert.not.match(JSON.stringify({ channel: secret }), 'hunter2');
});

test.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SSHChannel } from '../src/providers/channels/ssh.ts';
import { File } from '../src/staging/file.ts';
import { StagingError } from '../src/staging/errors.ts';
import { RSyncStaging } from '../src/staging/rsync.ts';
import { SFTPStaging } from '../src/staging/sftp.ts';
import { content, contentSha256 } from './support/http-server.ts';
import { Sshd } from './support/sshd.ts';

interface Ctx {
  sshd: Sshd;
  channel: SSHChannel;
  dir: string;
  /** The "remote" side: a directory sshd's user reaches by absolute path. */
  remote: string;
  sftp: SFTPStaging;
  rsync: RSyncStaging;
}
const s = suite<Ctx>('staging over SFTP and rsync (sshd on loopback)');

s.before(async (c) => {
  c.sshd = await Sshd.start();
  c.dir = mkdtempSync(join(tmpdir(), 'parsl-ts-staging-ssh-'));
  c.remote = join(c.dir, 'remote');
  mkdirSync(c.remote);
  c.channel = c.sshd.channel(c.dir);
  c.sftp = new SFTPStaging({ channels: [c.channel] });
  c.rsync = new RSyncStaging({ channels: [c.channel] });
  writeFileSync(join(c.remote, 'in file.txt'), 'remote words\n');
  writeFileSync(join(c.remote, 'big.bin'), content(0, 5 * 1024 * 1024));
});
s.after(async (c) => {
  await c.channel.close();
  await c.sshd.stop();
  rmSync(c.dir, { recursive: true, force: true });
});

function url(c: Ctx, scheme: 'sftp' | 'rsync', path: string): string {
  return `${scheme}://root@${c.sshd.host}:${c.sshd.port}${encodeURI(path)}`;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

for (const scheme of ['sftp', 'rsync'] as const) {
  const provider = (c: Ctx) => (scheme === 'sftp' ? c.sftp : c.rsync);

  s(`${scheme}: stage-in copies the remote file into workDir (names with spaces too)`, async (c) => {
    const workDir = join(c.dir, `${scheme}-in`);
    const file = new File(url(c, scheme, join(c.remote, 'in file.txt')));
    assert.ok(provider(c).canStageIn(file));
    const path = await provider(c).stageIn(file, workDir);
    assert.is(path, join(workDir, 'in file.txt'));
    assert.is(file.filepath, path);
    assert.is(readFileSync(path, 'utf8'), 'remote words\n');
    const big = new File(`${url(c, scheme, join(c.remote, 'big.bin'))}#sha256=${contentSha256(5 * 1024 * 1024)}`);
    assert.is(sha256(await provider(c).stageIn(big, workDir)), contentSha256(5 * 1024 * 1024));
    assert.equal(readdirSync(workDir).sort(), ['big.bin', 'in file.txt'], 'nothing else left in workDir');
  });

  s(`${scheme}: stage-out delivers the app's output, making the remote directory`, async (c) => {
    const workDir = join(c.dir, `${scheme}-out`);
    mkdirSync(workDir, { recursive: true });
    writeFileSync(join(workDir, 'sorted.txt'), 'a\nb\nc\n');
    const target = join(c.remote, `${scheme}-results`, 'sorted.txt');
    const file = new File(url(c, scheme, target));
    assert.ok(provider(c).canStageOut(file));
    await provider(c).stageOut(file, workDir);
    assert.is(readFileSync(target, 'utf8'), 'a\nb\nc\n');
    assert.equal(readdirSync(join(c.remote, `${scheme}-results`)), ['sorted.txt'], 'no landing file or directory left');
    // Again, over the existing file: same size, same second (rsync's quick check must not skip it).
    writeFileSync(join(workDir, 'sorted.txt'), 'c\nb\na\n');
    utimesSync(join(workDir, 'sorted.txt'), statSync(target).atime, statSync(target).mtime);
    await provider(c).stageOut(file, workDir);
    assert.is(readFileSync(target, 'utf8'), 'c\nb\na\n');
  });

  s(`${scheme}: a missing remote file fails with a StagingError naming the URL, leaving nothing`, async (c) => {
    const workDir = join(c.dir, `${scheme}-missing`);
    const file = new File(url(c, scheme, join(c.remote, 'nope.txt')));
    const error = await provider(c).stageIn(file, workDir).catch((e: unknown) => e);
    assert.instance(error, StagingError);
    assert.match((error as Error).message, file.url);
    assert.match((error as Error).message, /No such file|no such file/i);
    assert.equal(existsSync(workDir) ? readdirSync(workDir) : [], []);
  });

  s(`${scheme}: a checksum mismatch fails the stage-in`, async (c) => {
    const workDir = join(c.dir, `${scheme}-sum`);
    const file = new File(`${url(c, scheme, join(c.remote, 'in file.txt'))}#sha256=${'1'.repeat(64)}`);
    const error = await provider(c).stageIn(file, workDir).catch((e: unknown) => e);
    assert.instance(error, StagingError);
    assert.match((error as Error).message, 'sha256 mismatch');
  });
}

s('concurrent SFTP stage-ins of one URL to one place pull it once', async (c) => {
  let pulls = 0;
  const counting = new SFTPStaging({
    channelFor: () => ({
      description: c.channel.description,
      options: c.channel.options,
      exec: (command) => c.channel.exec(command),
      push: (local, dir) => c.channel.push(local, dir),
      makeDirs: (path) => c.channel.makeDirs(path),
      pull: (remote, dir) => {
        pulls++;
        return c.channel.pull(remote, dir);
      },
    }),
  });
  const workDir = join(c.dir, 'sftp-once');
  const files = Array.from({ length: 8 }, () => new File(url(c, 'sftp', join(c.remote, 'big.bin'))));
  const paths = await Promise.all(files.map((f) => counting.stageIn(f, workDir)));
  assert.equal(new Set(paths), new Set([join(workDir, 'big.bin')]));
  assert.is(pulls, 1);
  assert.equal(readdirSync(workDir), ['big.bin']);
});

s('a host without a channel is not staged by these providers', (c) => {
  const other = new File('sftp://elsewhere.example.org/data/x');
  assert.not.ok(c.sftp.canStageIn(other));
  assert.not.ok(c.rsync.canStageOut(new File('rsync://elsewhere.example.org/data/x')));
  assert.not.ok(c.sftp.canStageIn(new File(`sftp://someone@${c.sshd.host}:${c.sshd.port}/x`)), 'another user');
});

s('rsync: an unknown host key is refused (strict host key checking)', async (c) => {
  const emptyKnownHosts = join(c.dir, 'empty_known_hosts');
  writeFileSync(emptyKnownHosts, '');
  // Only the options (key, known_hosts) of this channel are used by rsync: it never connects itself.
  const stranger = c.sshd.channel(c.dir, { knownHostsPath: emptyKnownHosts });
  const strict = new RSyncStaging({ channels: [stranger] });
  const error = await strict.stageIn(new File(url(c, 'rsync', join(c.remote, 'in file.txt'))), join(c.dir, 'strict')).catch((e: unknown) => e);
  assert.instance(error, StagingError);
  assert.match((error as Error).message, /Host key verification failed/);
});

s.run();

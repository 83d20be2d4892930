import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { File } from '../src/staging/file.ts';
import { StagingError } from '../src/staging/errors.ts';
import { FTPInTaskStaging, FTPSeparateTaskStaging } from '../src/staging/ftp.ts';
import { content, contentSha256 } from './support/http-server.ts';
import { Vsftpd } from './support/vsftpd.ts';

interface Ctx {
  ftp: Vsftpd;
  dir: string;
}
const s = suite<Ctx>('staging over FTP (vsftpd)');
const ftp = new FTPSeparateTaskStaging();
const BIG = 6 * 1024 * 1024;

s.before(async (c) => {
  // Throttled so that a transfer is still under way when the test cuts it.
  c.ftp = await Vsftpd.start({ maxRate: 2 * 1024 * 1024 });
  c.dir = mkdtempSync(join(tmpdir(), 'parsl-ts-staging-ftp-'));
  writeFileSync(join(c.ftp.root, 'small.txt'), 'hello over ftp\n');
  writeFileSync(join(c.ftp.root, 'empty.txt'), '');
  writeFileSync(join(c.ftp.root, 'big.bin'), content(0, BIG));
});
s.after(async (c) => {
  await c.ftp.stop();
  rmSync(c.dir, { recursive: true, force: true });
});

s('an FTP file is fetched anonymously into workDir', async (c) => {
  const file = new File(c.ftp.url('small.txt'));
  assert.ok(ftp.canStageIn(file));
  assert.not.ok(ftp.canStageOut(file));
  const path = await ftp.stageIn(file, join(c.dir, 'small'));
  assert.is(readFileSync(path, 'utf8'), 'hello over ftp\n');
  assert.is(file.filepath, join(c.dir, 'small', 'small.txt'));
  const empty = await new FTPInTaskStaging().stageIn(new File(c.ftp.url('empty.txt')), join(c.dir, 'small'));
  assert.is(readFileSync(empty, 'utf8'), '');
});

s('a missing FTP file fails with a StagingError naming the URL, leaving nothing', async (c) => {
  const file = new File(c.ftp.url('nope.txt'));
  const error = await ftp.stageIn(file, join(c.dir, 'missing')).catch((e: unknown) => e);
  assert.instance(error, StagingError);
  assert.match((error as Error).message, file.url);
  assert.match((error as Error).message, '550');
  assert.equal(readdirSync(join(c.dir, 'missing')), []);
});

s('a transfer cut mid-file is resumed with REST and arrives whole', async (c) => {
  const workDir = join(c.dir, 'cut');
  let cutAt = 0;
  const path = await ftp.stageIn(new File(c.ftp.url('big.bin')), workDir, {
    onProgress: (bytes) => {
      if (cutAt === 0 && bytes >= 1024 * 1024) {
        cutAt = bytes;
        assert.ok(c.ftp.dropConnections() > 0, 'a session to cut');
      }
    },
  });
  assert.ok(cutAt > 0, 'the transfer was cut');
  const rest = /"REST (\d+)"/.exec(c.ftp.log());
  assert.ok(rest, `a REST command in the log:\n${c.ftp.log()}`);
  assert.ok(Number(rest[1]) >= cutAt, `resumed at ${rest[1]}, after the ${cutAt} bytes received before the cut`);
  assert.is(createHash('sha256').update(readFileSync(path)).digest('hex'), contentSha256(BIG));
  assert.equal(readdirSync(workDir), ['big.bin']);
});

s.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { File } from '../src/staging/file.ts';
import { StagingError } from '../src/staging/errors.ts';
import { splitZipPath, ZipFileStaging } from '../src/staging/zip.ts';
import { content } from './support/http-server.ts';

interface Ctx {
  dir: string;
  archive: string;
}
const s = suite<Ctx>('staging zip members');
const zip = new ZipFileStaging();

/** Lists an archive with Info-ZIP's unzip, an independent reader. */
function unzipList(archive: string): string[] {
  return execFileSync('unzip', ['-Z1', archive], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).sort();
}

s.before((c) => {
  c.dir = mkdtempSync(join(tmpdir(), 'parsl-ts-staging-zip-'));
  // The archive is made by Info-ZIP's zip, not by the code under test.
  const src = join(c.dir, 'src');
  mkdirSync(join(src, 'inner'), { recursive: true });
  writeFileSync(join(src, 'inner', 'data.csv'), 'a,b\n1,2\n');
  writeFileSync(join(src, 'big.bin'), content(0, 3 * 1024 * 1024));
  c.archive = join(c.dir, 'in.zip');
  execFileSync('zip', ['-q', '-r', c.archive, 'inner', 'big.bin'], { cwd: src });
});
s.after((c) => rmSync(c.dir, { recursive: true, force: true }));

s('zip: URLs split at the archive; members outside the work directory are refused', () => {
  assert.equal(splitZipPath('/a/b.zip/inner/x.csv'), { archive: '/a/b.zip', member: 'inner/x.csv' });
  assert.is(splitZipPath('/a/b.zip'), undefined);
  assert.is(splitZipPath('/a/b.zip/../../etc/passwd'), undefined);
  assert.ok(zip.canStageIn(new File('zip:/a/b.zip/x')));
  assert.not.ok(zip.canStageIn(new File('/a/b.zip/x')));
});

s('a member is extracted to workDir/member', async (c) => {
  const workDir = join(c.dir, 'work-in');
  const file = new File(`zip:${c.archive}/inner/data.csv`);
  const path = await zip.stageIn(file, workDir);
  assert.is(path, join(workDir, 'inner', 'data.csv'));
  assert.is(file.filepath, path);
  assert.is(readFileSync(path, 'utf8'), 'a,b\n1,2\n');
  const big = await zip.stageIn(new File(`zip:${c.archive}/big.bin`), workDir);
  assert.ok(readFileSync(big).equals(content(0, 3 * 1024 * 1024)));
  assert.equal(readdirSync(workDir).sort(), ['big.bin', 'inner']);
});

s('a missing member or archive fails with a StagingError naming the URL', async (c) => {
  for (const url of [`zip:${c.archive}/nope.txt`, `zip:${c.dir}/none.zip/x.txt`]) {
    const error = await zip.stageIn(new File(url), join(c.dir, 'work-missing')).catch((e: unknown) => e);
    assert.instance(error, StagingError);
    assert.match((error as Error).message, url);
  }
  assert.equal(readdirSync(join(c.dir, 'work-missing')), []);
});

s('stage-out makes the archive, adds members, replaces one of the same name; unzip reads it', async (c) => {
  const workDir = join(c.dir, 'work-out');
  mkdirSync(join(workDir, 'results'), { recursive: true });
  const archive = join(c.dir, 'out', 'results.zip');
  writeFileSync(join(workDir, 'results', 'one.txt'), 'one');
  await zip.stageOut(new File(`zip:${archive}/results/one.txt`), workDir);
  assert.equal(unzipList(archive), ['results/one.txt']);
  // Ten outputs staged out at once to the same archive: none is lost.
  const names = Array.from({ length: 10 }, (_, i) => `n${i}.txt`);
  for (const n of names) writeFileSync(join(workDir, n), n);
  await Promise.all(names.map((n) => zip.stageOut(new File(`zip:${archive}/${n}`), workDir)));
  writeFileSync(join(workDir, 'results', 'one.txt'), 'one, again');
  await zip.stageOut(new File(`zip:${archive}/results/one.txt`), workDir);
  assert.equal(unzipList(archive), [...names, 'results/one.txt'].sort());
  assert.is(execFileSync('unzip', ['-p', archive, 'results/one.txt'], { encoding: 'utf8' }), 'one, again');
  assert.equal(readdirSync(join(c.dir, 'out')), ['results.zip'], 'no temporary archive left');
  // And round trip through stage-in.
  const back = await zip.stageIn(new File(`zip:${archive}/n3.txt`), join(c.dir, 'work-back'));
  assert.is(readFileSync(back, 'utf8'), 'n3.txt');
});

s('stage-out of an output the app did not write fails and leaves the archive as it was', async (c) => {
  const archive = join(c.dir, 'out', 'results.zip');
  const before = readFileSync(archive);
  const error = await zip.stageOut(new File(`zip:${archive}/never-written.txt`), join(c.dir, 'work-out')).catch((e: unknown) => e);
  assert.instance(error, StagingError);
  assert.is((error as StagingError).direction, 'out');
  assert.ok(readFileSync(archive).equals(before));
});

s.run();

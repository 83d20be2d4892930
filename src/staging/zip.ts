/**
 * Members of zip archives, Parsl's `ZipFileStaging`: `zip:/a/b.zip/inner/x.csv` is the member
 * `inner/x.csv` of `/a/b.zip`. Stage-in extracts it to `workDir/inner/x.csv` (through a
 * temporary name, checked against the member's size); stage-out writes the app's
 * `workDir/inner/x.csv` into the archive (made if missing, a member of that name replaced) by
 * writing a new archive beside it and renaming it over the old one, one writer per archive at a
 * time in this process. Uses yauzl (read) and yazl (write).
 */
import { createWriteStream } from 'node:fs';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, normalize } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import type yauzl from 'yauzl';
import type yazl from 'yazl';
import { downloadAtomically, PermanentError, type RangeSource } from './download.ts';
import { StagingError } from './errors.ts';
import type { File } from './file.ts';
import type { StageOptions, StagingProvider } from './provider.ts';

// yauzl and yazl (CommonJS, ~40 ms to load) are required when an archive is first opened, not
// at `import 'parsl-ts'`.
const load = createRequire(import.meta.url);

/** `/a/b.zip/inner/x` → `['/a/b.zip', 'inner/x']`: the archive is the first component ending in `.zip`. */
export function splitZipPath(path: string): { archive: string; member: string } | undefined {
  const match = /^(.*?\.zip)\/(.+)$/i.exec(path);
  if (!match) return undefined;
  const member = normalize(match[2]!).replace(/^\/+/, '');
  // A member outside the work directory (`../x`) is refused.
  if (member.startsWith('..') || member === '.' || member.endsWith('/')) return undefined;
  return { archive: match[1]!, member };
}

/**
 * Parsl's `ZipFileStaging`: `zip:/path/archive.zip/member` files, extracted in, and added to the archive out.
 *
 * @example
 * ```ts
 * await stageIn(new File('zip:/data/inputs.zip/a.csv'), 'work', { storageAccess: [new ZipFileStaging()] });
 * ```
 */
export class ZipFileStaging implements StagingProvider {
  readonly name = 'ZipFileStaging';
  readonly inTask = false;
  /** Whether this provider can copy `file` to where a task runs. */
  canStageIn(file: File): boolean {
    return file.scheme === 'zip' && splitZipPath(file.path) !== undefined;
  }
  /** Whether this provider can deliver a task's output to `file`'s URL. */
  canStageOut(file: File): boolean {
    return this.canStageIn(file);
  }

  async stageIn(file: File, workDir: string, options: StageOptions = {}): Promise<string> {
    const { archive, member } = this.split(file, 'in');
    const target = join(workDir, member);
    await downloadAtomically(file, target, memberSource(archive, member), options);
    file.localPath = target;
    return target;
  }

  async stageOut(file: File, workDir: string): Promise<void> {
    const { archive, member } = this.split(file, 'out');
    const source = file.localPath ?? join(workDir, member);
    try {
      await access(source);
      await withArchiveLock(archive, () => writeMember(archive, member, source));
    } catch (error) {
      throw new StagingError(file.url, 'out', error instanceof Error ? error.message : String(error), { cause: error });
    }
  }

  private split(file: File, direction: 'in' | 'out'): { archive: string; member: string } {
    const parts = splitZipPath(file.path);
    if (!parts) throw new StagingError(file.url, direction, 'not a zip member URL: expected zip:/path/to/archive.zip/member');
    return parts;
  }
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    (load('yauzl') as typeof yauzl).open(path, { lazyEntries: true, autoClose: false }, (error, zip) => (error ? reject(error) : resolve(zip))),
  );
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream))));
}

/** Every entry of the archive, read to the end of its central directory. */
async function entries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const found: yauzl.Entry[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      found.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(found));
    zip.once('error', reject);
    zip.readEntry();
  });
}

/** The member's bytes; an offset is not honoured (start 0), so a retry reads it again. */
function memberSource(archive: string, member: string): RangeSource {
  return {
    async open() {
      let zip: yauzl.ZipFile;
      try {
        zip = await openZip(archive);
      } catch (error) {
        throw new PermanentError(`cannot open archive ${archive}: ${error instanceof Error ? error.message : String(error)}`);
      }
      try {
        const entry = (await entries(zip)).find((e) => e.fileName === member);
        if (!entry) throw new PermanentError(`${archive} has no member ${member}`);
        const body = await openEntry(zip, entry);
        body.once('close', () => zip.close());
        return { start: 0, totalSize: entry.uncompressedSize, body };
      } catch (error) {
        zip.close();
        throw error;
      }
    },
  };
}

const archiveLocks = new Map<string, Promise<void>>();

/** Runs `work` after every earlier writer of this archive (in this process) is done. */
async function withArchiveLock(archive: string, work: () => Promise<void>): Promise<void> {
  const before = archiveLocks.get(archive) ?? Promise.resolve();
  const mine = before.then(work, work);
  const tail = mine.catch(() => {});
  archiveLocks.set(archive, tail);
  try {
    await mine;
  } finally {
    if (archiveLocks.get(archive) === tail) archiveLocks.delete(archive);
  }
}

/** Writes a new archive with the old members (but `member`) and `source` as `member`, then renames it over. */
async function writeMember(archive: string, member: string, source: string): Promise<void> {
  await mkdir(dirname(archive), { recursive: true });
  const temporary = join(dirname(archive), `.${basename(archive)}.part-${randomBytes(6).toString('hex')}`);
  let old: yauzl.ZipFile | undefined;
  try {
    const exists = await access(archive).then(() => true, () => false);
    const out = new (load('yazl') as typeof yazl).ZipFile();
    if (exists) {
      old = await openZip(archive);
      const zip = old;
      for (const entry of await entries(zip)) {
        if (entry.fileName === member) continue;
        const options = { mtime: entry.getLastModDate(), mode: entry.externalFileAttributes >>> 16 || undefined };
        if (entry.fileName.endsWith('/')) out.addEmptyDirectory(entry.fileName, options);
        else out.addReadStreamLazy(entry.fileName, options, (done) => openEntry(zip, entry).then((s) => done(null, s), (e: Error) => done(e, undefined as never)));
      }
    }
    out.addFile(source, member);
    out.end();
    await pipeline(out.outputStream, createWriteStream(temporary));
    await rename(temporary, archive);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  } finally {
    old?.close();
  }
}

import { createHash } from 'node:crypto';
import { createReadStream, closeSync, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * sha256 of local files, for memo keys with `cacheFileContent: true`. A campaign often gives
 * the same input file to thousands of calls, so hashes are remembered by path and by what
 * `stat` says of the file (device, inode, size, modification and change times in ns): a file
 * that is rewritten, replaced or touched is hashed again.
 */
export class FileHashCache {
  readonly #hashes = new Map<string, { stamp: string; hash: string }>();
  readonly #capacity: number;

  /** `capacity`: how many files are remembered (the oldest is forgotten first). */
  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  /** The sha256 (hex) of the file at `path`, read as a stream. */
  async hash(path: string): Promise<string> {
    const stamp = stampOf(await stat(path, { bigint: true }));
    const known = this.#known(path, stamp);
    if (known !== undefined) return known;
    const digest = createHash('sha256');
    for await (const chunk of createReadStream(path)) digest.update(chunk as Buffer);
    return this.#remember(path, stamp, digest.digest('hex'));
  }

  /** `hash`, reading synchronously; returns the error instead of throwing it. */
  hashSync(path: string): string | Error {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r');
      const stamp = stampOf(fstatSync(fd, { bigint: true }));
      const known = this.#known(path, stamp);
      if (known !== undefined) return known;
      const digest = createHash('sha256');
      const chunk = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) digest.update(chunk.subarray(0, n));
      return this.#remember(path, stamp, digest.digest('hex'));
    } catch (error) {
      return error as Error;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  #known(path: string, stamp: string): string | undefined {
    const entry = this.#hashes.get(path);
    return entry?.stamp === stamp ? entry.hash : undefined;
  }

  #remember(path: string, stamp: string, hash: string): string {
    this.#hashes.delete(path);
    this.#hashes.set(path, { stamp, hash });
    if (this.#hashes.size > this.#capacity) this.#hashes.delete(this.#hashes.keys().next().value!);
    return hash;
  }

  get size(): number {
    return this.#hashes.size;
  }
}

function stampOf(s: BigIntStats): string {
  if (!s.isFile()) throw new Error('not a regular file');
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** The cache `memoKey` uses unless given another. */
export const defaultFileHashCache = new FileHashCache();


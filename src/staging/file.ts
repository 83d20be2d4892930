import { basename, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { ConfigError } from '../common/errors.ts';
import type { InTaskStaging } from './in-task.ts';

const FILE_BRAND = Symbol.for('parsl-ts.File');

/** Schemes written without `//` (`zip:/a/b.zip/inner`): only these, so that `c:x` stays a path. */
const OPAQUE_SCHEMES = /^(zip):(?!\/\/)/i;

/**
 * A file an app reads or writes, named by a local path or a URL. Parsl's `File`. Schemes:
 * `file` (or a plain path), `http`, `https`, `ftp`, `sftp://user@host:port/path`,
 * `rsync://user@host:port/path` (rsync over ssh), `zip:/a/b.zip/inner/member`,
 * `globus://ENDPOINT/path`. A remote URL may end in `#sha256=HEX` (or `#md5=HEX`): staging
 * then checks the copy against it.
 *
 * @example
 * ```ts
 * const unsorted = new File('unsorted_numbers.txt');
 * sortNumbers({ inputs: [unsorted] });
 * ```
 */
export class File {
  /** The file as a URL: `file:///abs/path` for local files. */
  readonly url: string;
  /** `file`, `http`, `https`, `ftp`, `sftp`, `globus`… */
  readonly scheme: string;
  /** Host part of the URL; empty for local files. */
  readonly netloc: string;
  /** Path part of the URL; for a local file, the path as given (relative or absolute). */
  readonly path: string;
  /** Where a staged copy of a remote file lives on the worker's file system, once staged. */
  localPath: string | undefined;
  /**
   * @internal What the worker stages for this file around the task (in-task staging): set by
   * the DFK's staging plan on its own copy of the file, read by the worker.
   */
  inTaskStaging: InTaskStaging | undefined;

  constructor(pathOrUrl: string | URL | File) {
    if (pathOrUrl instanceof File) pathOrUrl = pathOrUrl.url;
    const text = pathOrUrl instanceof URL ? pathOrUrl.href : pathOrUrl;
    if (typeof text !== 'string' || text.length === 0) {
      throw new ConfigError('File', `expected a non-empty path or URL, got ${inspect(pathOrUrl)}`);
    }
    const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text) ?? OPAQUE_SCHEMES.exec(text);
    if (!schemeMatch) {
      this.scheme = 'file';
      this.netloc = '';
      // Kept as given: a relative path names a file in the worker's working directory.
      this.path = text;
      this.url = pathToFileURL(resolve(text)).href;
    } else {
      const url = new URL(text);
      this.scheme = url.protocol.slice(0, -1).toLowerCase();
      this.netloc = url.host;
      this.path = this.scheme === 'file' ? fileURLToPath(url) : decodeURIComponent(url.pathname);
      this.url = url.href;
    }
    this.localPath = undefined;
    this.inTaskStaging = undefined;
    Object.defineProperty(this, FILE_BRAND, { value: true });
  }

  /** The path an app should open: the staged local copy if any, else the path itself. */
  get filepath(): string {
    return this.localPath ?? this.path;
  }

  /** The user named in the URL (`sftp://me@host/x`), or undefined. */
  get username(): string | undefined {
    return this.scheme === 'file' ? undefined : decodeURIComponent(new URL(this.url).username) || undefined;
  }

  /** The host without its port; empty for local and zip files. */
  get hostname(): string {
    return this.scheme === 'file' ? '' : new URL(this.url).hostname;
  }

  /** The port named in the URL, or undefined for the scheme's default. */
  get port(): number | undefined {
    if (this.scheme === 'file') return undefined;
    const port = new URL(this.url).port;
    return port ? Number(port) : undefined;
  }

  /**
   * The checksum the URL's fragment names (`#sha256=HEX`, `#sha1=HEX` or `#md5=HEX`, as pip
   * reads them), or undefined.
   */
  get checksum(): { algorithm: 'sha256' | 'sha1' | 'md5'; digest: string } | undefined {
    if (this.scheme === 'file') return undefined;
    const match = /^#(sha256|sha1|md5)=([0-9a-fA-F]+)$/.exec(new URL(this.url).hash);
    return match ? { algorithm: match[1] as 'sha256' | 'sha1' | 'md5', digest: match[2]!.toLowerCase() } : undefined;
  }

  /** A copy naming the same URL, without a staged local copy. Parsl's `File.cleancopy()`. */
  cleancopy(): File {
    return new File(this.url);
  }

  /** The last component of the path. */
  get filename(): string {
    return basename(this.path);
  }

  /** The file's URL, as Parsl's `str(File)` (a local path for a `file:` URL). */
  toString(): string {
    return this.filepath;
  }

  /** The file's URL, for `JSON.stringify`. */
  toJSON(): string {
    return this.url;
  }

  /** How `console.log` shows the file: `<File url>`. */
  [inspect.custom](): string {
    return `<File ${this.url}>`;
  }

  /** `instanceof` across realms (a worker thread, another copy of parsl-ts). */
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[FILE_BRAND] === true;
  }
}

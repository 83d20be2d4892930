/**
 * FTP stage-in, Parsl's `FTPSeparateTaskStaging` / `FTPInTaskStaging` (basic-ftp): anonymous
 * unless the URL names a user (`ftp://user:password@host/path`), passive mode, the size from
 * `SIZE`, and a cut transfer resumed with `REST`.
 */
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { createRequire } from 'node:module';
import type * as BasicFtp from 'basic-ftp';
import { downloadAtomically, PermanentError, type RangeSource } from './download.ts';
import { StagingError } from './errors.ts';
import type { File } from './file.ts';
import type { StageOptions, StagingProvider } from './provider.ts';

// basic-ftp (CommonJS, ~55 ms to load) is required by the first FTP transfer, not at `import 'parsl-ts'`.
const load = createRequire(import.meta.url);

/** Control-connection timeout of each FTP session. */
const FTP_TIMEOUT_MS = 30_000;

/**
 * Parsl's `FTPSeparateTaskStaging`: stages `ftp://` files in (anonymous unless the URL names a user), resuming a cut transfer with `REST`.
 *
 * @example
 * ```ts
 * const storageAccess = [new NoOpFileStaging(), new FTPSeparateTaskStaging()];
 * await stageIn(new File('ftp://ftp.example.org/pub/data.csv'), 'work', { storageAccess });
 * ```
 */
export class FTPSeparateTaskStaging implements StagingProvider {
  readonly name: string = 'FTPSeparateTaskStaging';
  readonly inTask: boolean = false;
  /** Whether this provider can copy `file` to where a task runs. */
  canStageIn(file: File): boolean {
    return file.scheme === 'ftp';
  }
  /** Whether this provider can deliver a task's output to `file`'s URL. */
  canStageOut(_file: File): boolean {
    return false;
  }
  async stageIn(file: File, workDir: string, options: StageOptions = {}): Promise<string> {
    const target = join(workDir, file.filename);
    await downloadAtomically(file, target, ftpSource(file), options);
    file.localPath = target;
    return target;
  }
  async stageOut(file: File): Promise<void> {
    throw new StagingError(file.url, 'out', `${this.name} stages files in only`);
  }
}

/**
 * The same, run in the worker before the app. Parsl's `FTPInTaskStaging`.
 *
 * @example
 * ```ts
 * const storageAccess = [new NoOpFileStaging(), new FTPInTaskStaging()];
 * ```
 */
export class FTPInTaskStaging extends FTPSeparateTaskStaging {
  override readonly name: string = 'FTPInTaskStaging';
  override readonly inTask: boolean = true;
}

/** One FTP session per attempt: `RETR`, or `REST offset` + `RETR` to resume. */
export function ftpSource(file: File): RangeSource {
  const url = new URL(file.url);
  return {
    async open(offset, signal) {
      const { Client, FTPError } = load('basic-ftp') as typeof BasicFtp;
      const client = new Client(FTP_TIMEOUT_MS);
      const onAbort = () => client.close();
      signal.addEventListener('abort', onAbort, { once: true });
      const body = new PassThrough();
      try {
        await client.access({
          host: url.hostname,
          port: url.port ? Number(url.port) : 21,
          user: decodeURIComponent(url.username) || 'anonymous',
          password: decodeURIComponent(url.password) || 'anonymous@',
        });
        let totalSize: number;
        try {
          totalSize = await client.size(file.path);
        } catch (error) {
          // 550: no such file (or not a plain file): asking again will not help.
          if (error instanceof FTPError && error.code >= 500) throw new PermanentError(`FTP ${error.message}`);
          throw error;
        }
        // basic-ftp ends its destination even when the transfer fails: give it a sink whose end
        // is ignored, and end or fail the body ourselves once the transfer settles.
        const sink = new Writable({
          write(chunk: Buffer, _encoding, done) {
            if (body.write(chunk)) done();
            else body.once('drain', () => done());
          },
        });
        client
          .downloadTo(sink, file.path, offset)
          .then(
            () => body.end(),
            (error: unknown) => body.destroy(error instanceof Error ? error : new Error(String(error))),
          )
          .finally(() => {
            signal.removeEventListener('abort', onAbort);
            client.close();
          });
        return { start: offset, totalSize, body };
      } catch (error) {
        signal.removeEventListener('abort', onAbort);
        client.close();
        throw error;
      }
    },
  };
}

import { ParslError, registerErrorClasses } from '../common/errors.ts';

/**
 * A file could not be staged in or out: no provider can stage its URL, the transfer failed, or
 * the copy does not match its expected size or checksum. Names the URL; `cause` holds the
 * underlying error (a socket error, an FTP reply, rsync's stderr…).
 *
 * @example
 * ```ts
 * try { await stageIn(new File('s3://bucket/x'), 'work'); }
 * catch (e) { if (e instanceof StagingError) console.log(e.url, e.providersTried); }
 * ```
 */
export class StagingError extends ParslError {
  /** The file's URL. */
  readonly url: string;
  /** `in` (to the task) or `out` (from it). */
  readonly direction: 'in' | 'out';
  /** Names of the providers that were asked (when none could stage the file). */
  readonly providersTried: string[];
  constructor(url: string, direction: 'in' | 'out', message: string, options?: ErrorOptions & { providersTried?: string[] }) {
    super(`staging ${direction} ${url} failed: ${message}`, options);
    this.url = url;
    this.direction = direction;
    this.providersTried = options?.providersTried ?? [];
  }
}

registerErrorClasses(StagingError);

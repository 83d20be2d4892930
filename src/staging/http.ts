/**
 * HTTP(S) stage-in, Parsl's `HTTPSeparateTaskStaging` / `HTTPInTaskStaging`: a GET to a
 * temporary name, resumed with `Range` after a cut when the server answers 206, redirects
 * followed, the size checked against `Content-Length`.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { downloadAtomically, PermanentError, type RangeSource } from './download.ts';
import { ConfigError } from '../common/errors.ts';
import { StagingError } from './errors.ts';
import type { File } from './file.ts';
import type { StageOptions, StagingProvider } from './provider.ts';

const MAX_REDIRECTS = 5;
// Kept-alive connections: 1,000 small files over one server reuse a few sockets.
const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

/**
 * Options of the HTTP staging providers.
 *
 * @example
 * ```ts
 * new HTTPSeparateTaskStaging({ ca: readFileSync('site-ca.pem', 'utf8') });
 * ```
 */
export interface HTTPStagingOptions {
  /**
   * Certificate authorities (PEM) trusted for https:// in place of Node's bundled ones: a
   * site's own CA, or a test's self-signed certificate. @default Node's bundled CAs
   */
  ca?: string | undefined;
}

/**
 * Parsl's `HTTPSeparateTaskStaging`: stages `http://` and `https://` files in, to a temporary name renamed when complete, resuming a cut download with a range request.
 *
 * @example
 * ```ts
 * const path = await stageIn(new File('https://example.org/data.csv'), 'work', { storageAccess: [new HTTPSeparateTaskStaging()] });
 * ```
 */
export class HTTPSeparateTaskStaging implements StagingProvider {
  readonly name: string = 'HTTPSeparateTaskStaging';
  readonly inTask: boolean = false;
  /** The options it was made with (carried to workers for in-task staging). */
  readonly options: HTTPStagingOptions;
  readonly #httpsAgent: HttpsAgent;

  constructor(options: HTTPStagingOptions = {}) {
    if (options.ca !== undefined && (typeof options.ca !== 'string' || !options.ca.includes('-----BEGIN CERTIFICATE-----'))) {
      throw new ConfigError('HTTPSeparateTaskStaging options.ca', `expected PEM certificates (-----BEGIN CERTIFICATE-----), got ${typeof options.ca === 'string' ? JSON.stringify(options.ca.slice(0, 40)) : typeof options.ca}`);
    }
    this.options = { ...options };
    this.#httpsAgent = options.ca === undefined ? httpsAgent : new HttpsAgent({ keepAlive: true, ca: options.ca });
  }
  /** Whether this provider can copy `file` to where a task runs. */
  canStageIn(file: File): boolean {
    return file.scheme === 'http' || file.scheme === 'https';
  }
  /** Whether this provider can deliver a task's output to `file`'s URL. */
  canStageOut(_file: File): boolean {
    return false;
  }
  async stageIn(file: File, workDir: string, options: StageOptions = {}): Promise<string> {
    const target = join(workDir, file.filename);
    await downloadAtomically(file, target, httpSource(file.url, this.#httpsAgent), options);
    file.localPath = target;
    return target;
  }
  async stageOut(file: File): Promise<void> {
    throw new StagingError(file.url, 'out', `${this.name} stages files in only`);
  }
}

/**
 * The same, run in the worker before the app. Parsl's `HTTPInTaskStaging`.
 *
 * @example
 * ```ts
 * const storageAccess = [new NoOpFileStaging(), new HTTPInTaskStaging()];   // HTTP fetched inside the task
 * ```
 */
export class HTTPInTaskStaging extends HTTPSeparateTaskStaging {
  override readonly name: string = 'HTTPInTaskStaging';
  override readonly inTask: boolean = true;
}

/** A GET from `offset` (with `Range` when above 0). */
export function httpSource(url: string, secureAgent: HttpsAgent = httpsAgent): RangeSource {
  return {
    async open(offset, signal) {
      const response = await get(url, offset, signal, secureAgent);
      const status = response.statusCode ?? 0;
      if (status === 206) {
        // Content-Range: bytes START-END/TOTAL
        const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '');
        if (!match) {
          response.destroy();
          throw new PermanentError(`206 without a usable Content-Range: ${response.headers['content-range']}`);
        }
        return { start: Number(match[1]), totalSize: match[2] === '*' ? undefined : Number(match[2]), body: response };
      }
      if (status === 200) {
        const length = response.headers['content-length'];
        return { start: 0, totalSize: length === undefined ? undefined : Number(length), body: response };
      }
      response.resume();
      const error = `HTTP ${status} ${response.statusMessage ?? ''}`.trim();
      // A server error may pass; a client error will not.
      if (status >= 500) throw new Error(error);
      throw new PermanentError(error);
    },
  };
}

async function get(url: string, offset: number, signal: AbortSignal, secureAgent: HttpsAgent): Promise<IncomingMessage> {
  let current = new URL(url);
  current.hash = '';
  for (let redirects = 0; ; redirects++) {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const https = current.protocol === 'https:';
      const request = (https ? httpsRequest : httpRequest)(current, {
        agent: https ? secureAgent : httpAgent,
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        signal,
      });
      request.once('response', resolve);
      request.once('error', reject);
      request.end();
    });
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.resume();
      if (redirects >= MAX_REDIRECTS) throw new PermanentError(`more than ${MAX_REDIRECTS} redirects`);
      current = new URL(location, current);
      continue;
    }
    return response;
  }
}

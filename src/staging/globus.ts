/**
 * Globus stage-in and stage-out (`globus://ENDPOINT/path`), Parsl's `GlobusStaging`, through
 * the Transfer API v0.10 with a bearer token: `GET /submission_id`, `POST /transfer` (one item,
 * `verify_checksum`), then `GET /task/ID` until the task ends; `POST /task/ID/cancel` when the
 * task reports a fault that will not pass (file not found, permission denied). A submission
 * whose answer was lost is sent again with the same `submission_id`, which Globus dedupes.
 *
 * The local side is a Globus endpoint too (`endpointUuid`) that sees the executor's working
 * directories, `localPath` there being `endpointPath` on the endpoint. A stage-in lands under a
 * temporary name and is renamed once the task succeeded and the checksum (if the URL names one)
 * matches. A token comes from the native-app OAuth login: `parsl-ts globus-auth`, then
 * `token: globusTokenSource()` (globus-auth.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { onceInFlight, verifyChecksum } from './download.ts';
import { StagingError } from './errors.ts';
import type { File } from './file.ts';
import { outputLocalPath, type StageOptions, type StagingProvider } from './provider.ts';

export const GLOBUS_TRANSFER_API = 'https://transfer.api.globus.org/v0.10';
/** How often a transfer task is asked for its status. @default 2 s */
export const DEFAULT_GLOBUS_POLL_MS = 2_000;
/** Faults a task reports while still ACTIVE that waiting will not cure. */
const PERMANENT_FAULTS = new Set(['FILE_NOT_FOUND', 'PERMISSION_DENIED', 'ENDPOINT_ERROR', 'NOT_A_DIRECTORY']);

/**
 * Options of `GlobusStaging`: Parsl's `endpoint_uuid`, `endpoint_path`, `local_path`, and a Transfer API token.
 *
 * @example
 * ```ts
 * const options: GlobusStagingOptions = { token: async () => readToken(), endpointUuid: 'LOCAL-ENDPOINT-UUID', endpointPath: '/', localPath: '/' };
 * new GlobusStaging(options);
 * ```
 */
export interface GlobusStagingOptions {
  /** A Transfer API access token, or a function that gives a current one (called per request). */
  token: string | (() => string | Promise<string>);
  /** The Globus endpoint (collection) on which the executor's working directories are seen. */
  endpointUuid: string;
  /** A local directory… @default '/' */
  localPath?: string;
  /** …and where it appears on `endpointUuid`. @default the same as localPath */
  endpointPath?: string;
  /** @default GLOBUS_TRANSFER_API */
  baseUrl?: string;
  /** @default DEFAULT_GLOBUS_POLL_MS */
  pollIntervalMs?: number;
  /** Give up on a transfer after this long. @default none */
  timeoutMs?: number;
}

interface TaskStatus {
  status: 'ACTIVE' | 'INACTIVE' | 'SUCCEEDED' | 'FAILED';
  nice_status?: string | null;
  fatal_error?: { code?: string; description?: string } | null;
}

/**
 * Parsl's `GlobusStaging`: `globus://ENDPOINT/path` files in and out through the Globus Transfer API, between the file's endpoint and the local endpoint `endpointUuid`.
 *
 * @example
 * ```ts
 * const globus = new GlobusStaging({ token: process.env.GLOBUS_TOKEN!, endpointUuid: 'LOCAL-ENDPOINT-UUID', localPath: '/' });
 * await stageIn(new File('globus://REMOTE-ENDPOINT-UUID/data/x.csv'), '/scratch/work', { storageAccess: [globus] });
 * ```
 */
export class GlobusStaging implements StagingProvider {
  readonly name = 'GlobusStaging';
  readonly inTask = false;
  private readonly baseUrl: string;
  private readonly localRoot: string;
  private readonly endpointRoot: string;

  constructor(private readonly options: GlobusStagingOptions) {
    this.baseUrl = (options.baseUrl ?? GLOBUS_TRANSFER_API).replace(/\/+$/, '');
    this.localRoot = options.localPath ?? '/';
    this.endpointRoot = options.endpointPath ?? this.localRoot;
  }

  /** Whether this provider can copy `file` to where a task runs. */
  canStageIn(file: File): boolean {
    return file.scheme === 'globus';
  }
  /** Whether this provider can deliver a task's output to `file`'s URL. */
  canStageOut(file: File): boolean {
    return file.scheme === 'globus';
  }

  async stageIn(file: File, workDir: string, options: StageOptions = {}): Promise<string> {
    const target = join(workDir, file.filename);
    await onceInFlight(file, target, async () => {
      const landing = join(workDir, `.${file.filename}.part-${randomBytes(6).toString('hex')}`);
      try {
        await mkdir(workDir, { recursive: true });
        await this.transfer(file, 'in', file.netloc, file.path, this.options.endpointUuid, this.onEndpoint(file, 'in', landing), options.signal);
        await verifyChecksum(file, landing);
        await rename(landing, target);
      } catch (error) {
        await rm(landing, { force: true });
        throw wrap(file, 'in', error);
      }
    });
    file.localPath = target;
    return target;
  }

  async stageOut(file: File, workDir: string, options: StageOptions = {}): Promise<void> {
    const source = this.onEndpoint(file, 'out', outputLocalPath(file, workDir));
    try {
      await this.transfer(file, 'out', this.options.endpointUuid, source, file.netloc, file.path, options.signal);
    } catch (error) {
      throw wrap(file, 'out', error);
    }
  }

  /** The path of a local file as the local endpoint sees it. */
  private onEndpoint(file: File, direction: 'in' | 'out', local: string): string {
    const rel = relative(this.localRoot, local);
    if (rel.startsWith('..')) {
      throw new StagingError(file.url, direction, `${local} is outside ${this.localRoot}, the directory the endpoint ${this.options.endpointUuid} sees`);
    }
    return posix.join(this.endpointRoot, rel.split(sep).join('/'));
  }

  private async transfer(
    file: File,
    direction: 'in' | 'out',
    sourceEndpoint: string,
    sourcePath: string,
    destinationEndpoint: string,
    destinationPath: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { value: submissionId } = await this.call<{ value: string }>('GET', '/submission_id', undefined, signal);
    const body = {
      DATA_TYPE: 'transfer',
      submission_id: submissionId,
      source_endpoint: sourceEndpoint,
      destination_endpoint: destinationEndpoint,
      label: `parsl-ts stage-${direction} ${file.filename}`.slice(0, 128),
      verify_checksum: true,
      DATA: [{ DATA_TYPE: 'transfer_item', source_path: sourcePath, destination_path: destinationPath, recursive: false }],
    };
    // The same submission_id makes a resubmission after a lost answer a duplicate, not a second task.
    let taskId: string | undefined;
    let lastError: unknown;
    for (let attempt = 0; attempt < 3 && taskId === undefined; attempt++) {
      try {
        taskId = (await this.call<{ task_id: string }>('POST', '/transfer', body, signal)).task_id;
      } catch (error) {
        if (error instanceof GlobusApiError && error.status < 500) throw error;
        if (signal?.aborted) throw error;
        lastError = error;
      }
    }
    if (taskId === undefined) throw lastError;
    const started = Date.now();
    for (;;) {
      const task = await this.call<TaskStatus>('GET', `/task/${encodeURIComponent(taskId)}`, undefined, signal);
      if (task.status === 'SUCCEEDED') return;
      if (task.status === 'FAILED') {
        throw new Error(`Globus task ${taskId} failed: ${task.fatal_error?.code ?? task.nice_status ?? 'no reason given'} ${task.fatal_error?.description ?? ''}`.trim());
      }
      if (task.nice_status && PERMANENT_FAULTS.has(task.nice_status)) {
        await this.call('POST', `/task/${encodeURIComponent(taskId)}/cancel`, undefined, signal).catch(() => {});
        throw new Error(`Globus task ${taskId} reports ${task.nice_status}; cancelled it`);
      }
      if (this.options.timeoutMs !== undefined && Date.now() - started > this.options.timeoutMs) {
        await this.call('POST', `/task/${encodeURIComponent(taskId)}/cancel`, undefined, signal).catch(() => {});
        throw new Error(`Globus task ${taskId} did not finish within ${this.options.timeoutMs} ms (status ${task.status}); cancelled it`);
      }
      await delay(this.options.pollIntervalMs ?? DEFAULT_GLOBUS_POLL_MS, undefined, { signal });
    }
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal | undefined): Promise<T> {
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ?? null,
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { message: text };
    }
    if (!response.ok) {
      const { code, message } = json as { code?: string; message?: string };
      throw new GlobusApiError(method, path, response.status, code ?? '', message ?? text);
    }
    return json as T;
  }
}

/**
 * The Transfer API answered an error (`{ code, message }` with a 4xx/5xx status).
 *
 * @example
 * ```ts
 * try { await stageIn(new File('globus://EP/x'), 'work', { storageAccess: [globus] }); }
 * catch (e) { if (e instanceof GlobusApiError) console.log(e.status, e.code); }
 * ```
 */
export class GlobusApiError extends Error {
  constructor(
    method: string,
    path: string,
    /** The HTTP status. */
    readonly status: number,
    /** The API's error code, e.g. `ClientError.NotFound`. */
    readonly code: string,
    message: string,
  ) {
    super(`Globus Transfer API ${method} ${path}: ${status} ${code} ${message}`.trim());
    this.name = 'GlobusApiError';
  }
}

function wrap(file: File, direction: 'in' | 'out', error: unknown): StagingError {
  if (error instanceof StagingError) return error;
  return new StagingError(file.url, direction, error instanceof Error ? error.message : String(error), { cause: error });
}

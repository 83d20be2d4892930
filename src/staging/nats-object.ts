/**
 * `nats://BUCKET/NAME` files: objects of a JetStream object store of the run, how a file written
 * by a task at one site reaches a task at another when no filesystem is shared. Parsl has no
 * such scheme; the shape follows `globus://ENDPOINT/path`: the host part is the bucket (letters,
 * digits, `-`, `_`), the path is the object's name (it may hold `/`).
 *
 * Staged in the task (`inTask`): a worker of an HTEX block puts its output into the bucket after
 * the app returned, and gets an input before the app starts, through its block's own NATS login
 * (the leaf of its site: the object lives in the site's JetStream domain, so writing it never
 * crosses the site's link and survives any cut). When the task that reads the file runs at
 * another site, the DFK copies the object from the writer's site to the reader's first (a
 * `_nats_relay` task in the driver, through its logins to both sites; resumed chunk by chunk
 * after a cut). See staging/object-store.ts for the transfer itself.
 */
import { join } from 'node:path';
import { StagingError } from './errors.ts';
import type { File } from './file.ts';
import { getFile, putFile, type ObjectEnd } from './object-store.ts';
import { outputLocalPath, type StageOptions, type StagingProvider } from './provider.ts';
import { cjsExports } from '../common/cjs-exports.ts';

/** What a bucket may be called (the object store's rule). */
const BUCKET = /^[-\w]+$/;

/** The environment variable through which a block (and its worker threads) has its NATS login. */
const BLOCK_NATS_ENV = 'PARSL_TS_NATS';

/**
 * Options of `NatsObjectStaging`.
 *
 * @example
 * ```ts
 * new NatsObjectStaging({ chunkSize: 256 * 1024 });
 * ```
 */
export interface NatsObjectStagingOptions {
  /** Bytes per chunk: at most the server's max_payload (1 MB by default). @default 131072 */
  chunkSize?: number | undefined;
}

/**
 * Stages `nats://BUCKET/NAME` files in and out of tasks through a JetStream object store of the
 * run: chunked, checked against the object's SHA-256 digest, written to a temporary name then
 * renamed, resumed after a cut. Put it in the `storageAccess` of HTEX executors (sites) whose
 * tasks share files; a file written at one site and read at another is relayed by the DFK.
 *
 * @example
 * ```ts
 * const storageAccess = [new NoOpFileStaging(), new NatsObjectStaging()];
 * const config = new Config({ executors: [siteA({ storageAccess }), siteB({ storageAccess })] });
 * const made = simulate({ outputs: [new File('nats://run/frames.bin')] }, { executors: ['a'] });
 * const stats = analyse({ inputs: [made.outputs[0]!] }, { executors: ['b'] });
 * ```
 */
export class NatsObjectStaging implements StagingProvider {
  readonly name = 'NatsObjectStaging';
  readonly inTask = true;
  /** As given (the worker rebuilds the provider from them). */
  readonly options: NatsObjectStagingOptions;

  constructor(options: NatsObjectStagingOptions = {}) {
    this.options = options;
  }

  /** Whether this provider can copy `file` to where a task runs. */
  canStageIn(file: File): boolean {
    return file.scheme === 'nats';
  }

  /** Whether this provider can deliver a task's output to `file`'s URL. */
  canStageOut(file: File): boolean {
    return file.scheme === 'nats';
  }

  async stageIn(file: File, workDir: string, options: StageOptions = {}): Promise<string> {
    const { bucket, name } = objectOf(file, 'in');
    const target = file.localPath ?? join(workDir, file.filename);
    try {
      await getFile(await blockObjectEnd(), bucket, name, target, { ...options, chunkSize: this.options.chunkSize });
    } catch (error) {
      throw new StagingError(file.url, 'in', (error as Error).message, { cause: error });
    }
    file.localPath = target;
    return target;
  }

  async stageOut(file: File, workDir: string, options: StageOptions = {}): Promise<void> {
    const { bucket, name } = objectOf(file, 'out');
    try {
      await putFile(await blockObjectEnd(), bucket, name, outputLocalPath(file, workDir), { ...options, chunkSize: this.options.chunkSize });
    } catch (error) {
      throw new StagingError(file.url, 'out', (error as Error).message, { cause: error });
    }
  }
}

/** The bucket and the object's name of a `nats://` file; a `StagingError` naming the URL when malformed. */
export function objectOf(file: File, direction: 'in' | 'out'): { bucket: string; name: string } {
  const bucket = file.netloc;
  const name = file.path.replace(/^\/+/, '');
  if (!BUCKET.test(bucket)) {
    throw new StagingError(file.url, direction, `expected nats://BUCKET/NAME with a bucket of letters, digits, '-' or '_'; got bucket ${JSON.stringify(bucket)}`);
  }
  if (name.length === 0) throw new StagingError(file.url, direction, 'expected nats://BUCKET/NAME; the object name is empty');
  return { bucket, name };
}

let blockEnd: Promise<ObjectEnd> | undefined;

/**
 * The object store of the block this thread runs in: its own login to its leaf (from the
 * block's environment), one connection per thread, kept for the thread's life.
 */
function blockObjectEnd(): Promise<ObjectEnd> {
  blockEnd ??= connectBlock().catch((error: unknown) => {
    blockEnd = undefined;
    throw error;
  });
  return blockEnd;
}

async function connectBlock(): Promise<ObjectEnd> {
  const raw = process.env[BLOCK_NATS_ENV];
  if (!raw) {
    throw new Error(
      `NatsObjectStaging stages in the workers of a HighThroughputExecutor's blocks, through the block's NATS login (${BLOCK_NATS_ENV}), which this process has not; ` +
        'use it in the storageAccess of an HTEX executor',
    );
  }
  const login = JSON.parse(raw) as { servers: string | string[]; user?: string; password?: string; token?: string };
  const { connect } = cjsExports(await import('@nats-io/transport-node'));
  const { jetstream, jetstreamManager } = cjsExports(await import('@nats-io/jetstream'));
  const nc = await connect({
    servers: login.servers,
    user: login.user,
    pass: login.password,
    token: login.token,
    name: 'parsl-ts object staging',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  // The block's own JetStream (its site's domain): no domain named.
  return { js: jetstream(nc, { timeout: 5_000 }), jsm: await jetstreamManager(nc, { timeout: 5_000 }) };
}

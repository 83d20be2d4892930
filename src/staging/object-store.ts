/**
 * Moving files through a JetStream object store, in the object store's own format (a bucket is
 * the stream `OBJ_<bucket>`; an object is its chunks on `$O.<bucket>.C.<nuid>` and a meta
 * message on `$O.<bucket>.M.<name>` holding size, chunk count and the SHA-256 digest), so that
 * `nats object get`, `@nats-io/obj` and these functions read each other's objects.
 *
 * Why not `@nats-io/obj`'s own `put` and `get`: they start over after a cut. Here a put
 * publishes each chunk until JetStream has stored it, with a message id that makes a repeat
 * count once, and a get reads chunks with a consumer that starts again at the stream sequence
 * after the last chunk received: a cut link (a site's leaf to its hub) delays a transfer, it
 * neither restarts nor corrupts it. A get writes to a temporary name, checks size and digest,
 * then renames; a copy between two JetStreams (two sites' domains) relays chunk by chunk.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { open, rename, rm, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { cjsExports } from '../common/cjs-exports.ts';

/** One JetStream an object store lives in: a client and a manager of the same domain. */
export interface ObjectEnd {
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** Options of one object transfer. */
export interface ObjectTransferOptions {
  /** Ends the transfer (the temporary copy is removed). */
  signal?: AbortSignal | undefined;
  /** Called with the bytes moved so far. */
  onProgress?: ((bytes: number) => void) | undefined;
  /** Bytes per chunk (at most the server's max_payload). @default 131072, the object store's own */
  chunkSize?: number | undefined;
}

/** The object store's meta message, as `@nats-io/obj` and the nats CLI write it. */
interface ObjectMeta {
  name: string;
  bucket: string;
  nuid: string;
  size: number;
  chunks: number;
  digest: string;
  mtime: string;
  deleted?: boolean;
  options?: { max_chunk_size?: number };
}

export const DEFAULT_CHUNK_SIZE = 128 * 1024;
/** A read that brings no chunk for this long is begun again from the last chunk received. */
const STALL_MS = 5_000;
/** Chunks asked for at once by a get. */
const FETCH_CHUNKS = 64;
/** How long one JetStream request (a publish's ack, a stream info) waits. */
const REQUEST_TIMEOUT_MS = 5_000;

/**
 * Events of the transfers in this thread, for logs and tests: `retry` with `{ bucket, name,
 * error, bytes }` (bytes moved before the failure, kept: the transfer goes on from there), and
 * `stored` after each chunk a put or a copy stored.
 */
export const objectTransferEvents = new EventEmitter<{
  retry: [{ bucket: string; name: string; error: Error; bytes: number }];
  /** Bytes of an object stored so far by a put or a copy in this thread. */
  stored: [{ bucket: string; name: string; bytes: number }];
}>();

/** Buckets known to exist, per store: a put of many small files asks once. */
const madeBuckets = new WeakMap<ObjectEnd, Set<string>>();

/** Makes the bucket if missing (idempotent: a bucket with the same settings is left as it is). */
export async function ensureBucket(end: ObjectEnd, bucket: string, signal?: AbortSignal): Promise<void> {
  let made = madeBuckets.get(end);
  if (made?.has(bucket)) return;
  await untilDone(signal, bucket, '', () => 0, async () => {
    const { Objm } = cjsExports(await import('@nats-io/obj'));
    await new Objm(end.js).create(bucket);
  });
  if (!made) madeBuckets.set(end, (made = new Set()));
  made.add(bucket);
}

/** The object's meta, or undefined when the bucket has no such object. */
export async function objectInfo(end: ObjectEnd, bucket: string, name: string, signal?: AbortSignal): Promise<ObjectMeta | undefined> {
  return untilDone(signal, bucket, name, () => 0, async () => {
    try {
      const msg = await end.jsm.streams.getMessage(streamOf(bucket), { last_by_subj: await metaSubject(bucket, name) });
      if (!msg) return undefined;
      const meta = JSON.parse(new TextDecoder().decode(msg.data)) as ObjectMeta;
      return meta.deleted ? undefined : meta;
    } catch (error) {
      // "no message found" / "stream not found" are answers; anything else (a timeout) is retried.
      if (/no message found|stream not found/i.test((error as Error).message)) return undefined;
      throw error;
    }
  });
}

/** Stores the file at `path` as `name` in `bucket` (made if missing); resolves with the digest. */
export async function putFile(end: ObjectEnd, bucket: string, name: string, path: string, options: ObjectTransferOptions = {}): Promise<string> {
  await ensureBucket(end, bucket, options.signal);
  const writer = new ObjectWriter(end, bucket, name, options);
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(writer.chunkSize);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      await writer.add(Buffer.from(buffer.subarray(0, bytesRead)));
    }
  } finally {
    await handle.close();
  }
  return writer.finish();
}

/**
 * Fetches `name` from `bucket` to `target`: to a temporary name beside it, renamed once the
 * size and the digest match the object's. Throws `ObjectMissing` when there is no such object.
 */
export async function getFile(end: ObjectEnd, bucket: string, name: string, target: string, options: ObjectTransferOptions = {}): Promise<ObjectMeta> {
  const meta = await objectInfo(end, bucket, name, options.signal);
  if (!meta) throw new ObjectMissing(bucket, name);
  await mkdir(dirname(target), { recursive: true });
  const temporary = join(dirname(target), `.${basename(target)}.part-${randomBytes(6).toString('hex')}`);
  const handle = await open(temporary, 'w');
  let done = false;
  try {
    const sha = createHash('sha256');
    let bytes = 0;
    await readChunks(end, bucket, meta, options, async (chunk) => {
      sha.update(chunk);
      await handle.write(chunk);
      bytes += chunk.length;
      options.onProgress?.(bytes);
    });
    await handle.close();
    checkWhole(meta, bytes, sha);
    await rename(temporary, target);
    done = true;
    return meta;
  } finally {
    if (!done) {
      await handle.close().catch(() => {});
      await rm(temporary, { force: true });
    }
  }
}

/**
 * Copies `name` of `bucket` from one JetStream to another (a site's domain to another's, through
 * the driver), chunk by chunk; the copy gets the same digest. Throws `ObjectMissing` if absent.
 */
export async function copyObject(from: ObjectEnd, to: ObjectEnd, bucket: string, name: string, options: ObjectTransferOptions = {}): Promise<string> {
  const meta = await objectInfo(from, bucket, name, options.signal);
  if (!meta) throw new ObjectMissing(bucket, name);
  await ensureBucket(to, bucket, options.signal);
  const writer = new ObjectWriter(to, bucket, name, { ...options, chunkSize: meta.options?.max_chunk_size ?? options.chunkSize });
  await readChunks(from, bucket, meta, options, (chunk) => writer.add(chunk));
  const digest = await writer.finish();
  if (digest !== meta.digest) throw new Error(`the copy of ${bucket}/${name} has digest ${digest}, the original ${meta.digest}`);
  return digest;
}

/** There is no object of that name in the bucket (or no such bucket). */
export class ObjectMissing extends Error {
  constructor(
    readonly bucket: string,
    readonly objectName: string,
    how?: string,
  ) {
    super(how ? `object '${objectName}' of bucket '${bucket}' ${how}` : `no object '${objectName}' in bucket '${bucket}'`);
    this.name = 'ObjectMissing';
  }
}

/** Writes one object chunk by chunk; `finish` publishes its meta (the object appears then, whole). */
class ObjectWriter {
  readonly chunkSize: number;
  readonly #id = randomBytes(11).toString('hex');
  readonly #sha = createHash('sha256');
  #chunks = 0;
  #size = 0;

  constructor(
    private readonly end: ObjectEnd,
    private readonly bucket: string,
    private readonly name: string,
    private readonly options: ObjectTransferOptions,
  ) {
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  async add(chunk: Uint8Array): Promise<void> {
    this.#sha.update(chunk);
    const n = this.#chunks++;
    await this.#publish(`$O.${this.bucket}.C.${this.#id}`, chunk, `${this.#id}.${n}`);
    this.#size += chunk.length;
    this.options.onProgress?.(this.#size);
    if (objectTransferEvents.listenerCount('stored') > 0) objectTransferEvents.emit('stored', { bucket: this.bucket, name: this.name, bytes: this.#size });
  }

  async finish(): Promise<string> {
    const { headers } = cjsExports(await import('@nats-io/transport-node'));
    const old = await objectInfo(this.end, this.bucket, this.name, this.options.signal);
    const digest = `SHA-256=${digestText(this.#sha)}`;
    const meta: ObjectMeta = {
      name: this.name,
      bucket: this.bucket,
      nuid: this.#id,
      size: this.#size,
      chunks: this.#chunks,
      digest,
      mtime: new Date().toISOString(),
      deleted: false,
      options: { max_chunk_size: this.chunkSize },
    };
    const h = headers();
    // As the object store does: the new meta replaces every earlier one of the name.
    h.set('Nats-Rollup', 'sub');
    await this.#publish(await metaSubject(this.bucket, this.name), JSON.stringify(meta), `${this.#id}.meta`, h);
    if (old && old.nuid !== this.#id) {
      await this.end.jsm.streams.purge(streamOf(this.bucket), { filter: `$O.${this.bucket}.C.${old.nuid}` }).catch(() => {});
    }
    return digest;
  }

  /** Publishes until stored; the message id makes a publish retried after a lost ack count once. */
  async #publish(subject: string, data: Uint8Array | string, msgID: string, headers?: MsgHdrs): Promise<void> {
    await untilDone(this.options.signal, this.bucket, this.name, () => this.#size, () =>
      this.end.js.publish(subject, data, { msgID, timeout: REQUEST_TIMEOUT_MS, ...(headers ? { headers } : {}) }),
    );
  }
}

/**
 * Reads the object's chunks in order, each handed to `onChunk` once. After a failure or a stall,
 * a new consumer starts at the stream sequence after the last chunk received.
 */
async function readChunks(end: ObjectEnd, bucket: string, meta: ObjectMeta, options: ObjectTransferOptions, onChunk: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  const { AckPolicy, DeliverPolicy } = cjsExports(await import('@nats-io/jetstream'));
  const subject = `$O.${bucket}.C.${meta.nuid}`;
  let received = 0;
  let bytes = 0;
  let nextSeq = 0;
  let attempts = 0;
  while (received < meta.chunks) {
    await untilDone(options.signal, bucket, meta.name, () => bytes, async () => {
      if (attempts++ > 0) {
        // A new put of the name purges the chunks being read: that is not a cut, say so.
        const now = await objectInfo(end, bucket, meta.name, options.signal);
        if (now?.nuid !== meta.nuid) throw new ObjectMissing(bucket, meta.name, 'was replaced or deleted while it was read');
      }
      // A plain ephemeral consumer (no acks; the server drops it when idle), from the chunk
      // after the last received: an ordered consumer would reset itself forever through a cut.
      const start = nextSeq === 0 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: nextSeq };
      const info = await end.jsm.consumers.add(streamOf(bucket), {
        filter_subject: subject,
        ack_policy: AckPolicy.None,
        inactive_threshold: 30_000_000_000,
        mem_storage: true,
        ...start,
      });
      const consumer = end.js.consumers.getConsumerFromInfo(info); // no second round trip
      while (received < meta.chunks) {
        const batch = await consumer.fetch({ max_messages: Math.min(FETCH_CHUNKS, meta.chunks - received), expires: STALL_MS });
        // Ended by hand when nothing comes: a fetch whose request crossed a cut may never end.
        let stalled = false;
        let timer: NodeJS.Timeout | undefined;
        const arm = (): void => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            stalled = true;
            batch.stop();
          }, STALL_MS + 1_000);
        };
        arm();
        let got = 0;
        try {
          for await (const msg of batch) {
            arm();
            if (msg.seq < nextSeq) continue; // already written
            await onChunk(msg.data);
            received++;
            got++;
            bytes += msg.data.length;
            nextSeq = msg.seq + 1;
          }
        } finally {
          clearTimeout(timer);
        }
        if (stalled || got === 0) throw new Error(`no chunk arrived for ${STALL_MS} ms`);
      }
      void end.jsm.consumers.delete(streamOf(bucket), info.name).catch(() => {});
    });
  }
}

/** Runs `step` until it succeeds (each failure is an event), or `signal` ends it. */
async function untilDone<T>(signal: AbortSignal | undefined, bucket: string, name: string, bytes: () => number, step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await step();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (isPermanent(error as Error)) throw error;
      objectTransferEvents.emit('retry', { bucket, name, error: error as Error, bytes: bytes() });
      // A timeout already waited; a refusal (no responders while a link is down) came at once.
      await sleep(Math.min(1_000, 50 * attempt), undefined, { signal });
    }
  }
}

/** Errors a retry cannot mend: bad names, a bucket refused by the server's limits, permissions. */
function isPermanent(error: Error): boolean {
  if (error instanceof ObjectMissing) return true;
  return /invalid|permission|insufficient resources|maximum bytes|exceeded|requires server/i.test(error.message) && !/timeout/i.test(error.message);
}

function checkWhole(meta: ObjectMeta, bytes: number, sha: Hash): void {
  if (bytes !== meta.size) throw new Error(`size mismatch: got ${bytes} bytes, the object has ${meta.size}`);
  const digest = `SHA-256=${digestText(sha)}`;
  if (digest !== meta.digest) throw new Error(`checksum mismatch: got ${digest}, the object's digest is ${meta.digest}`);
}

/** The object store's digest text: URL-safe base64 with padding. */
function digestText(sha: Hash): string {
  return sha.digest('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function streamOf(bucket: string): string {
  return `OBJ_${bucket}`;
}

async function metaSubject(bucket: string, name: string): Promise<string> {
  const { Base64UrlPaddedCodec } = cjsExports(await import('@nats-io/obj'));
  return `$O.${bucket}.M.${Base64UrlPaddedCodec.encode(name)}`;
}

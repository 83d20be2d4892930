/**
 * An HTTP server on a free loopback port for staging tests and the staging bench. Paths:
 *   /data/SIZE/NAME            SIZE deterministic bytes (see `content`), any NAME
 *   /data/SIZE/NAME?cut=N      the first request for this URL is cut after N bytes of body
 *   /short/SIZE/NAME           announces SIZE bytes, sends 10 fewer, then closes: every time
 *   /redirect/SIZE/NAME        302 to /data/SIZE/NAME
 *   a path given to `serve`    the body given
 *   /hold/SIZE/NAME            like /data, but held (headers not sent) while `holding` is true,
 *                              until `release()`; `onHeld` hears of each one held
 *   anything else              404
 * `ranges: false` makes it ignore `Range` (200 and the whole body), as many servers do.
 * Every request is recorded (`requests`) with the bytes of body sent.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

const BLOCK = 1 << 20;
/** 1 MiB of pseudo-random bytes (sha256 in counter mode): content is this block repeated. */
const block: Buffer = (() => {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK / 32; i++) createHash('sha256').update(`parsl-ts-staging-${i}`).digest().copy(out, i * 32);
  return out;
})();

/** Bytes [start, end) of the deterministic content. */
export function content(start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  for (let at = start; at < end; ) {
    const inBlock = at % BLOCK;
    const n = Math.min(BLOCK - inBlock, end - at);
    block.copy(out, at - start, inBlock, inBlock + n);
    at += n;
  }
  return out;
}

/** The sha256 of the first `size` bytes of the content, hex. */
export function contentSha256(size: number): string {
  const hash = createHash('sha256');
  for (let at = 0; at < size; at += BLOCK) hash.update(content(at, Math.min(size, at + BLOCK)));
  return hash.digest('hex');
}

export interface RecordedRequest {
  url: string;
  range: string | undefined;
  status: number;
  bytesSent: number;
}

export class TestHttpServer {
  readonly requests: RecordedRequest[] = [];
  ranges: boolean;
  private readonly cutDone = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private readonly bodies = new Map<string, Buffer>();
  private scheme: 'http' | 'https' = 'http';
  /** Responses not yet finished (or closed), and the most seen at once. */
  inFlight = 0;
  maxInFlight = 0;
  holding = true;
  onHeld: ((heldCount: number) => void) | undefined;
  /** Hears of each response closed (finished, or its connection gone). */
  onClosed: ((url: string) => void) | undefined;
  private held: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    ranges: boolean,
  ) {
    this.ranges = ranges;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** With `tls` (PEM key and certificate), an HTTPS server. */
  static async start(options: { ranges?: boolean; tls?: { key: string; cert: string } } = {}): Promise<TestHttpServer> {
    let self: TestHttpServer | undefined;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      self!.maxInFlight = Math.max(self!.maxInFlight, ++self!.inFlight);
      res.once('close', () => {
        self!.inFlight--;
        self!.onClosed?.(url);
      });
      const url = req.url ?? '/';
      if (self!.holding && url.startsWith('/hold/')) {
        self!.held.push(() => self!.handle(url.replace('/hold/', '/data/'), req.headers.range, res));
        self!.onHeld?.(self!.held.length);
        return;
      }
      self!.handle(url.replace(/^\/hold\//, '/data/'), req.headers.range, res);
    };
    const server: Server = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    self = new TestHttpServer(server, (server.address() as AddressInfo).port, options.ranges ?? true);
    self.scheme = options.tls ? 'https' : 'http';
    return self;
  }

  url(path: string): string {
    return `${this.scheme}://127.0.0.1:${this.port}${path}`;
  }

  /** Sends every held response, and holds no more. */
  release(): void {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const send of held) send();
  }

  /** Serves `body` at `path` (a text file for the examples). */
  serve(path: string, body: string | Buffer): void {
    this.bodies.set(path, Buffer.from(body));
  }

  requestsFor(pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.url.startsWith(pathPrefix));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(url: string, range: string | undefined, res: ServerResponse): void {
    const record: RecordedRequest = { url, range, status: 200, bytesSent: 0 };
    this.requests.push(record);
    const parsed = new URL(url, 'http://x');
    const body = this.bodies.get(parsed.pathname);
    if (body) {
      record.bytesSent = body.length;
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'text/plain' }).end(body);
      return;
    }
    const match = /^\/(data|short|redirect)\/(\d+)\/[^/]+$/.exec(parsed.pathname);
    if (!match) {
      record.status = 404;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const [, kind, sizeText] = match;
    const size = Number(sizeText);
    if (kind === 'redirect') {
      record.status = 302;
      res.writeHead(302, { location: parsed.pathname.replace('/redirect/', '/data/') }).end();
      return;
    }
    let start = 0;
    const rangeMatch = range && this.ranges ? /^bytes=(\d+)-$/.exec(range) : null;
    if (rangeMatch && Number(rangeMatch[1]) <= size) {
      start = Number(rangeMatch[1]);
      record.status = 206;
      res.writeHead(206, { 'content-length': size - start, 'content-range': `bytes ${start}-${size - 1}/${size}`, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': size, ...(this.ranges ? { 'accept-ranges': 'bytes' } : {}) });
    }
    let end = size;
    let cut = false;
    const cutAt = parsed.searchParams.get('cut');
    if (kind === 'short') {
      end = Math.max(start, size - 10);
      cut = true;
    } else if (cutAt !== null && !this.cutDone.has(url)) {
      this.cutDone.add(url);
      end = Math.min(size, start + Number(cutAt));
      cut = true;
    }
    this.send(res, start, end, cut, record);
  }

  /** Writes [start, end) with backpressure; then ends the response, or destroys the socket for a cut. */
  private send(res: ServerResponse, start: number, end: number, cut: boolean, record: RecordedRequest): void {
    let at = start;
    const finish = () => {
      if (cut) res.socket?.destroy();
      else res.end();
    };
    const pump = (): void => {
      while (at < end) {
        const chunk = content(at, Math.min(end, at + 256 * 1024));
        at += chunk.length;
        record.bytesSent += chunk.length;
        if (at >= end) {
          res.write(chunk, finish);
          return;
        }
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      finish();
    };
    pump();
  }
}

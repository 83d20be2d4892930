import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageFile } from '../common/package-files.ts';
import { MonitoringDatabase } from './database.ts';

/**
 * The dashboard of `parsl-ts monitor`: a page and its JSON API, served by node:http from the
 * monitoring database (read-only). Its libraries (ECharts, cytoscape, cytoscape-dagre) are
 * served from node_modules: the page loads nothing from the internet. Bound to 127.0.0.1
 * unless told otherwise: the database holds arguments and paths of the user's tasks.
 *
 * Live: the server polls SQLite's `data_version` (a counter in shared memory, no read of the
 * tables) every `pollMs` while a page listens on `/api/events`, and sends a Server-Sent Event
 * when another connection (the run's writer) has committed; the page then fetches its view
 * again. Answers are cached per `data_version`, so a finished run costs each query once.
 */

export interface DashboardOptions {
  /** The monitoring database file. */
  db: string;
  /** @default 0: any free port */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** How often the database is checked for changes while a page listens, in ms. @default 200 */
  pollMs?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

// The pages stay in src/monitoring/static, from the sources and in the built package alike (the
// build copies no assets; package.json ships src/).
const STATIC_DIR = fileURLToPath(packageFile('src/monitoring/static'));

const require = createRequire(import.meta.url);
/** The browser builds of the page's libraries, by the name the page asks for. */
const LIBRARIES: Record<string, [pkg: string, file: string]> = {
  'echarts.js': ['echarts', 'dist/echarts.min.js'],
  'cytoscape.js': ['cytoscape', 'dist/cytoscape.min.js'],
  'cytoscape-dagre.js': ['cytoscape-dagre', 'dist/cytoscape-dagre.min.js'],
};

function libraryPath(pkg: string, file: string): string {
  const main = require.resolve(pkg);
  const marker = `/node_modules/${pkg}/`;
  return main.slice(0, main.lastIndexOf(marker) + marker.length) + file;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const db = MonitoringDatabase.open(options.db);
  const pollMs = options.pollMs ?? 200;
  const cache = new Map<string, { token: number; body: string }>();
  const listeners = new Set<ServerResponse>();
  let token = db.changeToken();
  let poller: NodeJS.Timeout | undefined;

  const poll = () => {
    let next: number;
    try {
      next = db.changeToken();
    } catch {
      return;
    }
    if (next === token) return;
    token = next;
    for (const res of listeners) res.write(`event: change\ndata: ${token}\n\n`);
  };

  const api = (path: string, query: URLSearchParams): unknown => {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [kind, run, sub] = parts;
    if (kind === 'workflows') return db.workflows();
    if (kind === 'version') return { token: db.changeToken() };
    if (kind === 'workflow' && run !== undefined) {
      switch (sub) {
        case undefined: {
          const summary = db.workflow(run);
          return summary && { summary, apps: db.apps(run), failures: db.failures(run) };
        }
        case 'timeline':
          return db.timeline(run, Number(query.get('limit') ?? 5000));
        case 'states':
          return db.statesOverTime(run, Number(query.get('points') ?? 300));
        case 'graph':
          return db.taskGraph(run, Number(query.get('limit') ?? 1000));
        case 'resources':
          return db.resources(run);
      }
    }
    if (kind === 'task' && run !== undefined && sub !== undefined) return db.task(run, Number(sub));
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'GET only');
    if (path === '/favicon.ico') return send(res, 204, 'text/plain', '');
    if (path === '/' || path === '/index.html') return sendFile(res, join(STATIC_DIR, 'index.html'));
    if (path.startsWith('/static/') && /^[\w.-]+$/.test(path.slice(8))) return sendFile(res, join(STATIC_DIR, path.slice(8)));
    if (path.startsWith('/lib/')) {
      const lib = LIBRARIES[path.slice(5)];
      return lib ? sendFile(res, libraryPath(...lib), 'public, max-age=86400') : send(res, 404, 'text/plain', 'no such library');
    }
    if (path === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`event: hello\ndata: ${token}\n\n`);
      listeners.add(res);
      poller ??= setInterval(poll, pollMs);
      req.on('close', () => {
        listeners.delete(res);
        if (listeners.size === 0 && poller) {
          clearInterval(poller);
          poller = undefined;
        }
      });
      return;
    }
    if (path.startsWith('/api/')) {
      const key = path + url.search;
      const now = db.changeToken();
      const hit = cache.get(key);
      let body = hit && hit.token === now ? hit.body : undefined;
      if (body === undefined) {
        try {
          const value = api(path.slice(5), url.searchParams);
          if (value === undefined) return send(res, 404, 'application/json', JSON.stringify({ error: 'not found' }));
          body = JSON.stringify(value);
        } catch (error) {
          return send(res, 500, 'application/json', JSON.stringify({ error: (error as Error).message }));
        }
        if (cache.size > 200) cache.clear();
        cache.set(key, { token: now, body });
      }
      return send(res, 200, 'application/json', body);
    }
    send(res, 404, 'text/plain', 'not found');
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    port: address.port,
    close: async () => {
      if (poller) clearInterval(poller);
      for (const res of listeners) res.end();
      listeners.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // a browser's keep-alive connections would hold close() open
      await closed;
      db.close();
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function sendFile(res: ServerResponse, path: string, cacheControl = 'no-store'): void {
  let body: Buffer;
  try {
    body = readFileSync(path);
  } catch {
    return send(res, 404, 'text/plain', 'not found');
  }
  res.writeHead(200, { 'content-type': TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream', 'cache-control': cacheControl });
  res.end(body);
}

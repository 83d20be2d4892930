/**
 * A local stand-in for the Globus Transfer API v0.10, answering only the documented calls the
 * staging client makes: `GET /submission_id`, `POST /transfer`, `GET /task/ID`,
 * `POST /task/ID/cancel`, with a bearer token. Endpoints are directories of this machine; a
 * transfer copies the one item from source to destination. Globus itself cannot be reached
 * from the test machines.
 *
 * Behaviours for tests: `loseNextTransferAnswer` accepts the next submission but cuts the
 * connection before answering (the client must resubmit with the same submission_id: one task);
 * a missing source reports `nice_status: FILE_NOT_FOUND` while ACTIVE, as Globus does.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

interface Task {
  id: string;
  submissionId: string;
  status: 'ACTIVE' | 'SUCCEEDED' | 'FAILED';
  niceStatus: string | null;
  /** Polls answered so far: the first answer is always ACTIVE, as a real task is queued first. */
  polls: number;
  outcome: 'SUCCEEDED' | 'FILE_NOT_FOUND';
}

export class FakeGlobusTransfer {
  readonly token = `test-token-${randomUUID()}`;
  readonly tasks = new Map<string, Task>();
  readonly calls: string[] = [];
  loseNextTransferAnswer = false;
  private readonly issuedSubmissionIds = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    /** Endpoint UUID → the local directory its paths start from. */
    readonly endpoints: Map<string, string>,
  ) {}

  static async start(endpoints: Record<string, string>): Promise<FakeGlobusTransfer> {
    let self: FakeGlobusTransfer | undefined;
    const server = createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    self = new FakeGlobusTransfer(server, (server.address() as AddressInfo).port, new Map(Object.entries(endpoints)));
    return self;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v0.10`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? '').replace(/^\/v0\.10/, '');
    this.calls.push(`${req.method} ${path}`);
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return reply(401, { code: 'AuthenticationFailed', message: 'Token is not active', request_id: 'r' });
    }
    if (req.method === 'GET' && path === '/submission_id') {
      const value = randomUUID();
      this.issuedSubmissionIds.add(value);
      return reply(200, { DATA_TYPE: 'submission_id', value });
    }
    if (req.method === 'POST' && path === '/transfer') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        DATA_TYPE: string;
        submission_id: string;
        source_endpoint: string;
        destination_endpoint: string;
        DATA: { DATA_TYPE: string; source_path: string; destination_path: string }[];
      };
      if (body.DATA_TYPE !== 'transfer' || !this.issuedSubmissionIds.has(body.submission_id) || body.DATA?.length !== 1) {
        return reply(400, { code: 'BadRequest', message: 'malformed transfer document' });
      }
      const existing = [...this.tasks.values()].find((t) => t.submissionId === body.submission_id);
      if (existing) return reply(200, { DATA_TYPE: 'transfer_result', code: 'Duplicate', task_id: existing.id, submission_id: body.submission_id });
      const source = this.endpoints.get(body.source_endpoint);
      const destination = this.endpoints.get(body.destination_endpoint);
      if (source === undefined || destination === undefined) {
        return reply(404, { code: 'EndpointNotFound', message: `no endpoint ${source === undefined ? body.source_endpoint : body.destination_endpoint}` });
      }
      const item = body.DATA[0]!;
      const from = join(source, item.source_path);
      let outcome: Task['outcome'] = 'SUCCEEDED';
      if (existsSync(from)) {
        const to = join(destination, item.destination_path);
        mkdirSync(dirname(to), { recursive: true });
        copyFileSync(from, to);
      } else outcome = 'FILE_NOT_FOUND';
      const task: Task = { id: randomUUID(), submissionId: body.submission_id, status: 'ACTIVE', niceStatus: 'Queued', polls: 0, outcome };
      this.tasks.set(task.id, task);
      if (this.loseNextTransferAnswer) {
        this.loseNextTransferAnswer = false;
        res.socket?.destroy();
        return;
      }
      return reply(202, { DATA_TYPE: 'transfer_result', code: 'Accepted', task_id: task.id, submission_id: body.submission_id });
    }
    const taskMatch = /^\/task\/([^/]+)(\/cancel)?$/.exec(path);
    const task = taskMatch && this.tasks.get(decodeURIComponent(taskMatch[1]!));
    if (taskMatch && !task) return reply(404, { code: 'TaskNotFound', message: 'no such task' });
    if (task && req.method === 'GET' && !taskMatch![2]) {
      if (task.polls++ > 0 && task.status === 'ACTIVE') {
        if (task.outcome === 'SUCCEEDED') [task.status, task.niceStatus] = ['SUCCEEDED', null];
        else task.niceStatus = task.outcome;
      }
      return reply(200, { DATA_TYPE: 'task', task_id: task.id, status: task.status, nice_status: task.niceStatus, fatal_error: null });
    }
    if (task && req.method === 'POST' && taskMatch![2]) {
      [task.status, task.niceStatus] = ['FAILED', null];
      return reply(200, { DATA_TYPE: 'result', code: 'Canceled', message: 'The task has been cancelled.' });
    }
    reply(404, { code: 'ClientError.NotFound', message: `no route ${req.method} ${path}` });
  }
}

/**
 * A local stand-in for Globus Auth, answering the documented calls of the native-app flow
 * that `parsl-ts globus-auth` and `globusTokenSource()` make: `GET /v2/oauth2/authorize`
 * (what the user's browser opens; it answers with the code Globus would show) and
 * `POST /v2/oauth2/token` (`authorization_code` with a PKCE verifier, `refresh_token`).
 * Globus itself cannot be reached from the test machines.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class FakeGlobusAuth {
  /** Grants asked for, in order: `authorization_code`, `refresh_token`. */
  readonly grants: string[] = [];
  /** Lifetime of the access tokens it issues, in seconds. */
  expiresIn = 172_800;
  private readonly codes = new Map<string, { clientId: string; challenge: string; redirectUri: string }>();
  private readonly refreshTokens = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    /** The access token it issues (the Transfer stand-in's, so that both agree). */
    readonly accessToken: string,
  ) {}

  static async start(accessToken: string): Promise<FakeGlobusAuth> {
    let self: FakeGlobusAuth | undefined;
    const server = createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    self = new FakeGlobusAuth(server, (server.address() as AddressInfo).port, accessToken);
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    const json = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && url.pathname === '/v2/oauth2/authorize') {
      const q = url.searchParams;
      if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge') || !q.get('client_id')) {
        return json(400, { error: 'invalid_request' });
      }
      const code = randomUUID();
      this.codes.set(code, { clientId: q.get('client_id')!, challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri') ?? '' });
      res.writeHead(200, { 'content-type': 'text/plain' }).end(code);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/v2/oauth2/token') {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const grant = form.get('grant_type') ?? '';
      this.grants.push(grant);
      if (grant === 'authorization_code') {
        const issued = this.codes.get(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (
          !issued ||
          issued.clientId !== form.get('client_id') ||
          issued.redirectUri !== form.get('redirect_uri') ||
          createHash('sha256').update(verifier).digest('base64url') !== issued.challenge
        ) {
          return json(400, { error: 'invalid_grant' });
        }
        this.codes.delete(form.get('code')!);
        return json(200, this.issue());
      }
      if (grant === 'refresh_token') {
        const token = form.get('refresh_token') ?? '';
        if (!this.refreshTokens.has(token)) return json(400, { error: 'invalid_grant' });
        this.refreshTokens.delete(token); // Rotated, as Globus may.
        return json(200, this.issue());
      }
      return json(400, { error: 'unsupported_grant_type' });
    }
    json(404, { error: 'not_found' });
  }

  private issue(): Record<string, unknown> {
    const refresh = `refresh-${randomUUID()}`;
    this.refreshTokens.add(refresh);
    return {
      access_token: this.accessToken,
      refresh_token: refresh,
      expires_in: this.expiresIn,
      scope: 'urn:globus:auth:scope:transfer.api.globus.org:all offline_access',
      token_type: 'Bearer',
      resource_server: 'transfer.api.globus.org',
    };
  }
}

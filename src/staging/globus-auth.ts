/**
 * Tokens for `GlobusStaging` from Globus Auth's native-app flow (OAuth 2.0 authorization code
 * with PKCE, as Parsl's `Globus.get_authorizer` does with the Globus SDK's `NativeAppAuthClient`):
 * `parsl-ts globus-auth` prints a login URL, the user pastes back the code Globus shows, the
 * code is exchanged for an access token and a refresh token, kept in a file only its owner can
 * read (0600, in a 0700 directory). `globusTokenSource()` then gives `GlobusStaging` a current
 * access token, refreshing it (and saving the new one) when it has expired.
 *
 * Endpoints used (Globus Auth API): `GET /v2/oauth2/authorize` (the user's browser),
 * `POST /v2/oauth2/token` with `grant_type=authorization_code` or `refresh_token`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError } from '../common/errors.ts';

/**
 * Globus Auth refused a request (a bad code, a revoked refresh token…).
 *
 * @example
 * ```ts
 * try { await globusTokenSource()(); } catch (e) { if (e instanceof GlobusAuthError) console.log(e.status, 'run parsl-ts globus-auth again'); }
 * ```
 */
export class GlobusAuthError extends Error {
  constructor(
    message: string,
    /** The HTTP status Globus Auth answered. */
    readonly status: number,
  ) {
    super(message);
    this.name = 'GlobusAuthError';
  }
}

export const GLOBUS_AUTH_URL = 'https://auth.globus.org';
/** The Transfer API scope, and `offline_access` for a refresh token. */
export const GLOBUS_TRANSFER_SCOPES = ['urn:globus:auth:scope:transfer.api.globus.org:all', 'offline_access'];
/** Where Globus shows the code to paste back, for native apps. */
export const GLOBUS_NATIVE_REDIRECT = 'https://auth.globus.org/v2/web/auth-code';
/** Refresh this long before the access token expires. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * `~/.parsl-ts/globus-tokens.json`: where `parsl-ts globus-auth` saves the tokens (owner-only).
 *
 * @example
 * ```ts
 * console.log(defaultGlobusTokenPath());
 * ```
 */
export function defaultGlobusTokenPath(): string {
  return join(homedir(), '.parsl-ts', 'globus-tokens.json');
}

/** What the token file holds. */
export interface GlobusTokens {
  clientId: string;
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  scope: string;
}

export interface GlobusAuthOptions {
  /** The native app's client id, registered at https://app.globus.org/settings/developers. */
  clientId: string;
  /** @default GLOBUS_AUTH_URL */
  authUrl?: string;
}

/** A login in progress: the URL to open, and the PKCE verifier the code is exchanged with. */
export interface GlobusLogin {
  url: string;
  verifier: string;
  state: string;
}

/** Starts a native-app login: the URL the user opens to get a code. */
export function startGlobusLogin(options: GlobusAuthOptions, scopes: readonly string[] = GLOBUS_TRANSFER_SCOPES): GlobusLogin {
  checkClientId(options.clientId);
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const url = new URL(`${authBase(options)}/v2/oauth2/authorize`);
  url.search = new URLSearchParams({
    client_id: options.clientId,
    redirect_uri: GLOBUS_NATIVE_REDIRECT,
    scope: scopes.join(' '),
    response_type: 'code',
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    access_type: 'offline',
  }).toString();
  return { url: url.href, verifier, state };
}

/** Exchanges the code the user pasted for tokens. */
export async function exchangeGlobusCode(options: GlobusAuthOptions, login: GlobusLogin, code: string): Promise<GlobusTokens> {
  if (code.trim() === '') throw new ConfigError('code', 'expected the code Globus showed after the login, got an empty line');
  return tokenRequest(options, {
    grant_type: 'authorization_code',
    code: code.trim(),
    redirect_uri: GLOBUS_NATIVE_REDIRECT,
    code_verifier: login.verifier,
  });
}

/** A new access token for a refresh token (which Globus may rotate). */
export async function refreshGlobusTokens(options: GlobusAuthOptions, tokens: GlobusTokens): Promise<GlobusTokens> {
  const fresh = await tokenRequest(options, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken });
  return { ...fresh, refreshToken: fresh.refreshToken || tokens.refreshToken };
}

async function tokenRequest(options: GlobusAuthOptions, form: Record<string, string>): Promise<GlobusTokens> {
  const url = `${authBase(options)}/v2/oauth2/token`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ ...form, client_id: options.clientId }).toString(),
  });
  const text = await response.text();
  if (!response.ok) throw new GlobusAuthError(`Globus Auth POST ${url} (${form.grant_type}) answered ${response.status}: ${text.slice(0, 500)}`, response.status);
  const body = JSON.parse(text) as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; scope?: unknown };
  if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
    throw new GlobusAuthError(`Globus Auth POST ${url} answered without access_token and expires_in: ${text.slice(0, 500)}`, response.status);
  }
  return {
    clientId: options.clientId,
    accessToken: body.access_token,
    refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : '',
    expiresAt: Date.now() + body.expires_in * 1000,
    scope: typeof body.scope === 'string' ? body.scope : '',
  };
}

/** Writes the tokens owner-only: a 0700 directory, a 0600 file written beside and renamed over. */
export function saveGlobusTokens(path: string, tokens: GlobusTokens): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600); // Whatever the umask did.
  renameSync(temporary, path);
}

/** Reads the token file; refuses one that others can read, as ssh refuses such a key. */
export function loadGlobusTokens(path: string): GlobusTokens {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new ConfigError('globus tokens', `no token file at ${path}; log in first with 'parsl-ts globus-auth'`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError('globus tokens', `${path} is readable by others (mode ${(mode & 0o777).toString(8)}); it holds a refresh token: chmod 600 it`);
  }
  const tokens = JSON.parse(readFileSync(path, 'utf8')) as Partial<GlobusTokens>;
  if (typeof tokens.refreshToken !== 'string' || typeof tokens.clientId !== 'string' || typeof tokens.accessToken !== 'string') {
    throw new ConfigError('globus tokens', `${path} is not a token file written by 'parsl-ts globus-auth'`);
  }
  return tokens as GlobusTokens;
}

/**
 * A `token` for `GlobusStaging`: the saved access token, refreshed through Globus Auth when it
 * is about to expire (one refresh at a time), the new tokens saved back.
 *
 * @example
 * ```ts
 * new GlobusStaging({ token: globusTokenSource(), endpointUuid: LOCAL_EP })
 * ```
 */
export function globusTokenSource(options: { tokenPath?: string; authUrl?: string } = {}): () => Promise<string> {
  const path = options.tokenPath ?? defaultGlobusTokenPath();
  let refreshing: Promise<GlobusTokens> | undefined;
  return async () => {
    const tokens = loadGlobusTokens(path);
    if (tokens.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return tokens.accessToken;
    refreshing ??= refreshGlobusTokens({ clientId: tokens.clientId, authUrl: options.authUrl }, tokens)
      .then((fresh) => (saveGlobusTokens(path, fresh), fresh))
      .finally(() => (refreshing = undefined));
    return (await refreshing).accessToken;
  };
}

function authBase(options: GlobusAuthOptions): string {
  return (options.authUrl ?? GLOBUS_AUTH_URL).replace(/\/+$/, '');
}

function checkClientId(clientId: unknown): void {
  if (typeof clientId !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(clientId)) {
    throw new ConfigError(
      'clientId',
      `expected the UUID of a native app registered at https://app.globus.org/settings/developers, got ${JSON.stringify(clientId)}`,
    );
  }
}

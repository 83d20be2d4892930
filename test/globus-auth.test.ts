// `parsl-ts globus-auth` and globusTokenSource() against local stand-ins of Globus Auth and
// the Transfer API (test/support/globus-*-server.ts): Globus cannot be reached from here.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ConfigError } from '../src/common/errors.ts';
import { app, clear, Config, dfk, load, NoOpFileStaging, ThreadPoolExecutor } from '../src/index.ts';
import { globusAuthMain } from '../src/cli/globus-auth.ts';
import { parseCommandLine } from '../src/cli/main.ts';
import { File } from '../src/staging/file.ts';
import { GlobusStaging } from '../src/staging/globus.ts';
import {
  exchangeGlobusCode,
  GlobusAuthError,
  globusTokenSource,
  loadGlobusTokens,
  saveGlobusTokens,
  startGlobusLogin,
  type GlobusTokens,
} from '../src/staging/globus-auth.ts';
import { deadline, rejection, tempDir } from './helpers.ts';
import { FakeGlobusAuth } from './support/globus-auth-server.ts';
import { FakeGlobusTransfer } from './support/globus-transfer-server.ts';

const CLIENT_ID = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
const REMOTE = 'ddb59aef-6d04-11e5-ba46-22000b92c6ec';
const LOCAL = '5a1b0c2d-0000-4000-8000-000000000001';

interface Ctx {
  auth: FakeGlobusAuth;
  transfer: FakeGlobusTransfer;
}
const s = suite<Ctx>('globus auth');
const work = tempDir('parsl-ts-globus-auth-');
const remoteRoot = join(work.path, 'remote');
const localRoot = join(work.path, 'local');

s.before(async (c) => {
  mkdirSync(join(remoteRoot, 'data'), { recursive: true });
  mkdirSync(localRoot);
  writeFileSync(join(remoteRoot, 'data', 'in.txt'), 'through a refreshed token\n');
  c.transfer = await FakeGlobusTransfer.start({ [REMOTE]: remoteRoot, [LOCAL]: localRoot });
  c.auth = await FakeGlobusAuth.start(c.transfer.token);
});
s.after(async (c) => {
  await c.auth.stop();
  await c.transfer.stop();
  work.remove();
});
s.before.each((c) => {
  c.auth.grants.length = 0;
  c.auth.expiresIn = 172_800;
});

/** Runs the command as a user at a terminal would: opens the URL it prints, pastes the code. */
async function login(c: Ctx, tokenFile: string): Promise<{ code: number; printed: string }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  const pasted = new Promise<void>((resolve, reject) => {
    output.setEncoding('utf8').on('data', (chunk: string) => {
      printed += chunk;
      const match = /\n {2}(http\S+)\n/.exec(printed);
      if (match && printed.includes('paste the code')) {
        output.removeAllListeners('data');
        output.on('data', (more: string) => (printed += more));
        // The browser: Globus shows the code after the login.
        fetch(match[1]!)
          .then((r) => r.text())
          .then((code) => input.write(`${code}\n`))
          .then(() => resolve(), reject);
      }
    });
  });
  const code = await deadline(globusAuthMain(['--client-id', CLIENT_ID, '--token-file', tokenFile, '--auth-url', c.auth.url], input, output), 30_000);
  await pasted;
  return { code, printed };
}

s('globus-auth - logs in with a PKCE code and saves the tokens owner-only', async (c) => {
  const tokenFile = join(work.path, 'home', '.parsl-ts', 'globus-tokens.json');
  const { code, printed } = await login(c, tokenFile);
  assert.is(code, 0);
  assert.match(printed, `${c.auth.url}/v2/oauth2/authorize?client_id=${CLIENT_ID}`);
  assert.match(printed, 'offline_access');
  assert.match(printed, `Saved Globus tokens to ${tokenFile}`);
  assert.is(statSync(tokenFile).mode & 0o777, 0o600);
  assert.is(statSync(join(work.path, 'home', '.parsl-ts')).mode & 0o777, 0o700);
  const tokens = loadGlobusTokens(tokenFile);
  assert.is(tokens.accessToken, c.transfer.token);
  assert.match(tokens.refreshToken, /^refresh-/);
  assert.is(tokens.clientId, CLIENT_ID);
  assert.equal(c.auth.grants, ['authorization_code']);
});

s('globus-auth - the command line knows it, and a missing client id is a usage error', async () => {
  assert.equal(parseCommandLine(['globus-auth', '--client-id', CLIENT_ID]), { kind: 'globus-auth', args: ['--client-id', CLIENT_ID] });
  const saved = process.env.PARSL_TS_GLOBUS_CLIENT_ID;
  delete process.env.PARSL_TS_GLOBUS_CLIENT_ID;
  try {
    const error = await rejection(globusAuthMain([], new PassThrough(), new PassThrough()));
    assert.match(error.message, '--client-id');
  } finally {
    if (saved !== undefined) process.env.PARSL_TS_GLOBUS_CLIENT_ID = saved;
  }
});

s('globus-auth - a wrong code (or a verifier that does not match) is refused by Globus Auth, named', async (c) => {
  const loginStarted = startGlobusLogin({ clientId: CLIENT_ID, authUrl: c.auth.url });
  const error = await rejection(exchangeGlobusCode({ clientId: CLIENT_ID, authUrl: c.auth.url }, loginStarted, 'not-a-code'));
  assert.instance(error, GlobusAuthError);
  assert.is(error.status, 400);
  assert.match(error.message, 'invalid_grant');
  assert.throws(() => startGlobusLogin({ clientId: 'parsl' }), (e: unknown) => e instanceof ConfigError && /clientId/.test((e as Error).message));
});

s('globusTokenSource - an expired access token is refreshed once, saved (rotated refresh token), then reused', async (c) => {
  c.auth.expiresIn = 0; // Issued already expired: the first use must refresh.
  const tokenFile = join(work.path, 'refresh', 'tokens.json');
  await login(c, tokenFile);
  const before = loadGlobusTokens(tokenFile);
  c.auth.expiresIn = 3600;
  const token = globusTokenSource({ tokenPath: tokenFile, authUrl: c.auth.url });
  const [a, b] = await Promise.all([token(), token()]);
  assert.is(a, c.transfer.token);
  assert.is(b, c.transfer.token);
  assert.equal(c.auth.grants, ['authorization_code', 'refresh_token'], 'one refresh for two concurrent asks');
  const after = loadGlobusTokens(tokenFile);
  assert.is.not(after.refreshToken, before.refreshToken, 'the rotated refresh token was saved');
  assert.is(statSync(tokenFile).mode & 0o777, 0o600);
  await token();
  assert.is(c.auth.grants.length, 2, 'a current token is not refreshed');
});

s('globusTokenSource - GlobusStaging stages a file in with the token from the login', async (c) => {
  const tokenFile = join(work.path, 'staging', 'tokens.json');
  await login(c, tokenFile);
  const globus = new GlobusStaging({
    token: globusTokenSource({ tokenPath: tokenFile, authUrl: c.auth.url }),
    endpointUuid: LOCAL,
    localPath: localRoot,
    endpointPath: '/',
    baseUrl: c.transfer.baseUrl,
    pollIntervalMs: 5,
  });
  const path = await deadline(globus.stageIn(new File(`globus://${REMOTE}/data/in.txt`), join(localRoot, 'run')), 30_000);
  assert.is(readFileSync(path, 'utf8'), 'through a refreshed token\n');
});

s('dfk - globus:// files staged in and out by _globus_stage_in / _globus_stage_out tasks with the login token', async (c) => {
  const tokenFile = join(work.path, 'dfk', 'tokens.json');
  await login(c, tokenFile);
  const globus = new GlobusStaging({
    token: globusTokenSource({ tokenPath: tokenFile, authUrl: c.auth.url }),
    endpointUuid: LOCAL,
    localPath: localRoot,
    endpointPath: '/',
    baseUrl: c.transfer.baseUrl,
    pollIntervalMs: 5,
  });
  load(
    new Config({
      executors: [new ThreadPoolExecutor({ maxThreads: 1, storageAccess: [new NoOpFileStaging(), globus], workingDir: join(localRoot, 'dfk-run') })],
      runDir: join(work.path, 'runinfo'),
    }),
  );
  const shout = app(async (o: { inputs: File[]; outputs: File[] }) => {
    const { readFile, writeFile } = await import('node:fs/promises');
    await writeFile(o.outputs[0]!.filepath, (await readFile(o.inputs[0]!.filepath, 'utf8')).toUpperCase());
  }, { name: 'shout' });
  try {
    const future = shout({ inputs: [new File(`globus://${REMOTE}/data/in.txt`)], outputs: [new File(`globus://${REMOTE}/data/out.txt`)] });
    await deadline(future.outputs[0]!, 60_000);
    assert.is(readFileSync(join(remoteRoot, 'data', 'out.txt'), 'utf8'), 'THROUGH A REFRESHED TOKEN\n');
    assert.equal(dfk().taskStateCounts, { exec_done: 3 });
  } finally {
    await clear();
  }
});

s('token file - one that others can read is refused, naming the fix', () => {
  const path = join(work.path, 'open', 'tokens.json');
  const tokens: GlobusTokens = { clientId: CLIENT_ID, accessToken: 'a', refreshToken: 'r', expiresAt: 0, scope: '' };
  saveGlobusTokens(path, tokens);
  chmodSync(path, 0o644);
  assert.throws(() => loadGlobusTokens(path), (e: unknown) => e instanceof ConfigError && /chmod 600/.test((e as Error).message));
  assert.throws(() => loadGlobusTokens(join(work.path, 'nowhere.json')), (e: unknown) => /parsl-ts globus-auth/.test((e as Error).message));
});

s.run();

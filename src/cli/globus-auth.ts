/**
 * `parsl-ts globus-auth`: logs in to Globus (the native-app flow) and saves the tokens that
 * `GlobusStaging` uses through `globusTokenSource()`. Prints the login URL, reads the code
 * Globus shows from the terminal, saves access and refresh tokens owner-only.
 */
import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { defaultGlobusTokenPath, exchangeGlobusCode, saveGlobusTokens, startGlobusLogin } from '../staging/globus-auth.ts';
import { UsageError } from './errors.ts';

export const GLOBUS_AUTH_USAGE = `Usage: parsl-ts globus-auth [--client-id <uuid>] [--token-file <path>]

Logs in to Globus for GlobusStaging: opens nothing, prints a URL to open in a
browser, then reads the code Globus shows there. The tokens (a refresh token
among them) are saved readable by you only (0600).

  --client-id <uuid>   Your native app, registered at
                       https://app.globus.org/settings/developers.
                       Default: $PARSL_TS_GLOBUS_CLIENT_ID
  --token-file <path>  Default: ~/.parsl-ts/globus-tokens.json
  --auth-url <url>     Globus Auth. Default: https://auth.globus.org

In a config: new GlobusStaging({ token: globusTokenSource(), endpointUuid })
`;

/** Runs the command with the terminal as `input` and `output`; resolves to the exit status. */
export async function globusAuthMain(argv: readonly string[], input: Readable = process.stdin, output: Writable = process.stdout): Promise<number> {
  let values: { 'client-id'?: string; 'token-file'?: string; 'auth-url'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { 'client-id': { type: 'string' }, 'token-file': { type: 'string' }, 'auth-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    output.write(GLOBUS_AUTH_USAGE);
    return 0;
  }
  const clientId = values['client-id'] ?? process.env.PARSL_TS_GLOBUS_CLIENT_ID;
  if (!clientId) throw new UsageError('give --client-id <uuid> (or set PARSL_TS_GLOBUS_CLIENT_ID): the native app registered at https://app.globus.org/settings/developers');
  const options = { clientId, authUrl: values['auth-url'] };
  const tokenPath = values['token-file'] ?? defaultGlobusTokenPath();
  const login = startGlobusLogin(options);
  output.write(`Open this URL in a browser and log in:\n\n  ${login.url}\n\n`);
  const lines = createInterface({ input, output, terminal: false });
  try {
    const code = await lines.question('Then paste the code Globus shows here: ');
    const tokens = await exchangeGlobusCode(options, login, code);
    saveGlobusTokens(tokenPath, tokens);
    output.write(`\nSaved Globus tokens to ${tokenPath} (readable by you only).\n`);
    return 0;
  } finally {
    lines.close();
  }
}

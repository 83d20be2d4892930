/**
 * The authentication methods an `SSHChannel` tries, in order: a given key (or the default key
 * files), an agent, a password (also as a single hidden keyboard-interactive prompt).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type * as Ssh2 from 'ssh2';
import type { AnyAuthMethod, ParsedKey } from 'ssh2';
import { ConfigError } from '../../common/errors.ts';
import type { ResolvedSSHChannelOptions } from './ssh-options.ts';

// Loaded when first used (~85 ms): most runs never open an SSH channel.
const ssh2 = (): typeof Ssh2 => createRequire(import.meta.url)('ssh2') as typeof Ssh2;

/** Keys tried, in this order, when no key is given (as OpenSSH and Parsl's paramiko do). */
const DEFAULT_IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** What a subclass gets to build its authentication methods for one connection attempt. */
export interface AuthContext {
  username: string;
  /** Runs `work` (e.g. a person typing a code) with the connect timeout stopped meanwhile. */
  withoutTimeout<T>(work: () => Promise<T>): Promise<T>;
  /** Ends the attempt with `error` (e.g. a prompt that could not be answered). */
  fail(error: Error): void;
}

/** The methods `SSHChannel.authMethods` tries, from its options, in order. */
export async function defaultAuthMethods(o: ResolvedSSHChannelOptions, context: AuthContext): Promise<AnyAuthMethod[]> {
  const { username } = context;
  const methods: AnyAuthMethod[] = [];
  if (o.privateKey !== undefined || o.privateKeyPath !== undefined) {
    let text: string | Buffer;
    const what = o.privateKeyPath ?? 'privateKey';
    if (o.privateKey !== undefined) text = o.privateKey;
    else {
      try {
        text = await readFile(o.privateKeyPath!);
      } catch (error) {
        throw new ConfigError('SSHChannel.privateKeyPath', `cannot read ${o.privateKeyPath}: ${(error as Error).message}`, { cause: error });
      }
    }
    const key = ssh2().utils.parseKey(text, o.passphrase);
    if (key instanceof Error) {
      const path = o.privateKeyPath !== undefined ? 'SSHChannel.privateKeyPath' : 'SSHChannel.privateKey';
      const hint = /encrypted|passphrase/i.test(key.message) ? ' (is passphrase right?)' : '';
      throw new ConfigError(path, `cannot use key ${what}: ${key.message}${hint}`, { cause: key });
    }
    methods.push({ type: 'publickey', username, key: firstKey(key) });
  } else if (o.password === undefined) {
    for (const name of DEFAULT_IDENTITY_FILES) {
      let text: Buffer;
      try {
        text = await readFile(join(homedir(), '.ssh', name));
      } catch {
        continue;
      }
      const key = ssh2().utils.parseKey(text, o.passphrase);
      // An encrypted default key without a passphrase is skipped, as ssh in batch mode does.
      if (!(key instanceof Error)) methods.push({ type: 'publickey', username, key: firstKey(key) });
    }
  }
  if (o.agent !== undefined) methods.push({ type: 'agent', username, agent: o.agent });
  if (o.password !== undefined) {
    const password = o.password;
    methods.push({ type: 'password', username, password });
    // Servers that take passwords only through PAM ask for them with keyboard-interactive.
    methods.push({
      type: 'keyboard-interactive',
      username,
      prompt: (_name, _instructions, _lang, prompts, finish) => {
        if (prompts.length === 0) return finish([]);
        if (prompts.length === 1 && prompts[0]!.echo !== true) return finish([password]);
        // Anything else (a second factor) needs SSHInteractiveLoginChannel: answer nothing.
        return finish(prompts.map(() => ''));
      },
    });
  }
  return methods;
}

/** ssh2 parses a key file into one key, or an array for some formats: take the first. */
function firstKey(key: ParsedKey | ParsedKey[]): ParsedKey {
  return Array.isArray(key) ? key[0]! : key;
}


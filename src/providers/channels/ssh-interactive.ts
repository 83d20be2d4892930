/**
 * `SSHInteractiveLoginChannel`: an `SSHChannel` that also logs in with keyboard-interactive
 * authentication, for login nodes that ask for a password, a one-time code or both (2FA).
 * Prompts are answered by the `onPrompt` callback or, without one, on the terminal.
 *
 * ```ts
 * const channel = new SSHInteractiveLoginChannel({
 *   hostname: 'login.cluster.org',
 *   username: 'me',
 *   onPrompt: async (prompts) => prompts.map((p) => (/code/i.test(p.prompt) ? totp() : password)),
 * });
 * ```
 */
import { StringDecoder } from 'node:string_decoder';
import type { AnyAuthMethod } from 'ssh2';
import { lazySchema, z } from '../../common/zod.ts';
import { parseOptions } from '../../common/validate.ts';
import { LoginPromptError } from './ssh-errors.ts';
import type { AuthContext } from './ssh-auth.ts';
import { fillSSHDefaults, refineSSHOptions, sshChannelShape, type ResolvedSSHChannelOptions, type SSHChannelOptions } from './ssh-options.ts';
import { SSHChannel } from './ssh.ts';

/** One question of a keyboard-interactive round. */
export interface LoginPrompt {
  /** The text the server shows, e.g. `Password: ` or `Verification code: `. */
  prompt: string;
  /** Whether the answer may be shown as it is typed (false for passwords and codes). */
  echo: boolean;
}

/** What the server says around a round of prompts, and who is logging in where. */
export interface LoginPromptInfo {
  /** Title of the round (often empty). */
  name: string;
  /** Instructions of the round (often empty). */
  instructions: string;
  hostname: string;
  username: string;
}

/** Answers one round of prompts: one string per prompt, in order. */
export type PromptHandler = (prompts: LoginPrompt[], info: LoginPromptInfo) => Promise<string[]> | string[];

const interactiveSchema = lazySchema(() =>
  z
    .object({
      ...sshChannelShape,
      /**
       * Answers keyboard-interactive prompts. It is called again for each round and, after a dropped
       * connection, for each new login. @default asks on the terminal when stdin is a TTY
       */
      onPrompt: z.custom<PromptHandler>((value) => typeof value === 'function', { message: 'expected a function (prompts, info) => answers' }).optional(),
    })
    .strict()
    .superRefine(refineSSHOptions),
);

/**
 * Options of `SSHInteractiveLoginChannel`, as the user gives them.
 * @interface
 */
export type SSHInteractiveLoginChannelOptions = z.input<typeof interactiveSchema>;

/** Options of `SSHInteractiveLoginChannel` with every default filled in. */
export type ResolvedSSHInteractiveLoginChannelOptions = ResolvedSSHChannelOptions & { onPrompt: PromptHandler | undefined };

/** Validates interactive channel options and fills defaults; throws `ConfigError` naming the option. */
export function resolveSSHInteractiveLoginChannelOptions(options: SSHInteractiveLoginChannelOptions): ResolvedSSHInteractiveLoginChannelOptions {
  const root = 'SSHInteractiveLoginChannel';
  const { onPrompt, ...rest } = parseOptions(interactiveSchema, options, root);
  return { ...fillSSHDefaults(rest, root), onPrompt };
}

/**
 * Parsl's `SSHInteractiveLoginChannel`: logs in like `SSHChannel` (keys, agent, password) and
 * then with keyboard-interactive, which answers what the server asks (a password, a 2FA code)
 * through `onPrompt`, or on the terminal (input hidden where the server asks so) when no
 * callback is given and stdin is a TTY. The connect timeout is stopped while prompts are answered.
 *
 * @example
 * ```ts
 * new CobaltProvider({
 *   channel: new SSHInteractiveLoginChannel({ hostname: 'theta.alcf.anl.gov', username: 'jdoe' }),   // asks for the code
 * });
 * ```
 */
export class SSHInteractiveLoginChannel extends SSHChannel {
  /** The options, validated, with defaults filled in. */
  declare readonly options: ResolvedSSHInteractiveLoginChannelOptions;

  constructor(options: SSHInteractiveLoginChannelOptions) {
    // Validated by resolveOptions below, which the base constructor calls.
    super(options as SSHChannelOptions);
  }

  protected static override resolveOptions(options: unknown): ResolvedSSHInteractiveLoginChannelOptions {
    return resolveSSHInteractiveLoginChannelOptions(options as SSHInteractiveLoginChannelOptions);
  }

  protected override async authMethods(context: AuthContext): Promise<AnyAuthMethod[]> {
    const methods = await super.authMethods(context);
    // The base class may answer a lone password prompt itself; here every prompt goes to the user.
    const own: AnyAuthMethod[] = methods.filter((m) => m.type !== 'keyboard-interactive');
    own.push({
      type: 'keyboard-interactive',
      username: context.username,
      prompt: (name, instructions, _lang, prompts, finish) => {
        // OpenSSH's PAM sends rounds without prompts; they need an empty answer, not a person.
        if (prompts.length === 0) return finish([]);
        const asked = prompts.map((p) => ({ prompt: p.prompt, echo: p.echo === true }));
        const info: LoginPromptInfo = { name, instructions, hostname: this.options.hostname, username: context.username };
        context
          .withoutTimeout(() => this.answer(asked, info))
          .then(
            (answers) => finish(answers),
            (error: unknown) => {
              context.fail(
                error instanceof LoginPromptError
                  ? error
                  : new LoginPromptError(`onPrompt failed for ${JSON.stringify(asked.map((p) => p.prompt))}: ${String((error as Error)?.message ?? error)}`, {
                      cause: error,
                    }),
              );
            },
          );
      },
    });
    return own;
  }

  private async answer(prompts: LoginPrompt[], info: LoginPromptInfo): Promise<string[]> {
    let answers: unknown;
    const { onPrompt } = this.options;
    if (onPrompt) answers = await onPrompt(prompts, info);
    else if (process.stdin.isTTY) answers = await askOnTerminal(prompts, info);
    else {
      throw new LoginPromptError(
        `${info.username}@${info.hostname} asks ${prompts.map((p) => JSON.stringify(p.prompt)).join(', ')} (keyboard-interactive), ` +
          'but no onPrompt callback was given and stdin is not a terminal',
      );
    }
    if (!Array.isArray(answers) || answers.length !== prompts.length || !answers.every((a) => typeof a === 'string')) {
      throw new LoginPromptError(`onPrompt must resolve with ${prompts.length} string(s), one per prompt; got ${JSON.stringify(answers)}`);
    }
    return answers as string[];
  }
}

/** The terminal streams `askOnTerminal` uses; tests pass their own. */
export interface TerminalIO {
  input: NodeJS.ReadableStream & { isTTY?: boolean; isRaw?: boolean; setRawMode?: (mode: boolean) => unknown };
  output: NodeJS.WritableStream;
}

// Two channels logging in at once must not interleave their questions on one terminal.
let terminalTurn: Promise<unknown> = Promise.resolve();

/**
 * Asks each prompt on the terminal (stderr by default, so stdout stays clean), showing what is
 * typed only for prompts with `echo`. Ctrl-C or end of input rejects with `LoginPromptError`.
 */
export function askOnTerminal(prompts: LoginPrompt[], info: LoginPromptInfo, io: TerminalIO = { input: process.stdin, output: process.stderr }): Promise<string[]> {
  const turn = terminalTurn.then(async () => {
    if (info.name) io.output.write(`${info.name}\n`);
    if (info.instructions) io.output.write(`${info.instructions}\n`);
    const answers: string[] = [];
    for (const prompt of prompts) answers.push(await readAnswer(io, prompt));
    return answers;
  });
  terminalTurn = turn.catch(() => {});
  return turn;
}

function readAnswer(io: TerminalIO, prompt: LoginPrompt): Promise<string> {
  const { input, output } = io;
  output.write(prompt.prompt);
  const wasRaw = input.isRaw === true;
  input.setRawMode?.(true);
  const decoder = new StringDecoder('utf8');
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const finish = (error?: LoginPromptError): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.setRawMode?.(wasRaw);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onEnd = (): void => finish(new LoginPromptError(`input ended before ${JSON.stringify(prompt.prompt)} was answered`));
    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const char of text) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new LoginPromptError(`cancelled (Ctrl-C) at ${JSON.stringify(prompt.prompt)}`));
        if (char === '\u0004') {
          if (answer === '') return onEnd();
          continue;
        }
        if (char === '\u007f' || char === '\b') {
          if (answer.length > 0) {
            answer = [...answer].slice(0, -1).join('');
            if (prompt.echo) output.write('\b \b');
          }
          continue;
        }
        if (char === '\u0015') {
          // Ctrl-U: start over.
          if (prompt.echo) output.write('\b \b'.repeat([...answer].length));
          answer = '';
          continue;
        }
        answer += char;
        if (prompt.echo) output.write(char);
      }
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.resume();
  });
}

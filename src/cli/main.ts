/**
 * The `parsl-ts` command: parses the command line and runs the command. `bin/parsl-ts.js`
 * calls `main()`.
 */
import { ConfigError } from '../common/errors.ts';
import { UsageError } from './errors.ts';
import { PACKAGE_VERSION } from '../common/version.ts';
import { USAGE } from './help.ts';
import type { RunOptions } from './run.ts';

/** What a command line asks for. */
export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'run'; options: RunOptions; script: string; args: string[] }
  | { kind: 'block'; args: string[] }
  | { kind: 'site'; args: string[] }
  | { kind: 'monitor'; args: string[] }
  | { kind: 'globus-auth'; args: string[] };

/** Exit status of a command line that cannot be run, or a config that is wrong. */
export const EXIT_USAGE = 2;

/**
 * Runs the command `argv` (the arguments after `parsl-ts`). Resolves to the exit status, or
 * to `undefined` once a script has been started: it exits when it is done, as under node.
 */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`parsl-ts: ${error.message}\nRun 'parsl-ts --help' for usage.\n`);
    return EXIT_USAGE;
  }
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
      process.stdout.write(`${PACKAGE_VERSION}\n`);
      return 0;
    case 'block': {
      const { blockMain } = await import('./block.ts');
      try {
        const code = await blockMain(command.args);
        // A block manager must end when it is done, whatever user code left running in it.
        process.stderr.write('', () => process.exit(code));
        return code;
      } catch (error) {
        if (!(error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) throw error;
        process.stderr.write(`parsl-ts block: ${error.message}\n`);
        return EXIT_USAGE;
      }
    }
    case 'site': {
      const { siteMain } = await import('./site.ts');
      try {
        return await siteMain(command.args);
      } catch (error) {
        const parse = error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
        if (!(parse || error instanceof UsageError || error instanceof ConfigError)) throw error;
        process.stderr.write(`parsl-ts site: ${(error as Error).message}\n`);
        return EXIT_USAGE;
      }
    }
    case 'monitor':
      try {
        const { monitor } = await import('./monitor.ts');
        return await monitor(command.args);
      } catch (error) {
        if (!(error instanceof UsageError || error instanceof ConfigError)) throw error;
        process.stderr.write(`parsl-ts monitor: ${error.message.replace(/^monitor: /, '')}\n`);
        return EXIT_USAGE;
      }
    case 'globus-auth':
      try {
        const { globusAuthMain } = await import('./globus-auth.ts');
        return await globusAuthMain(command.args);
      } catch (error) {
        if (!(error instanceof UsageError || error instanceof ConfigError)) throw error;
        process.stderr.write(`parsl-ts globus-auth: ${error.message}\n`);
        return EXIT_USAGE;
      }
    case 'run':
      try {
        // Loaded here, not above: it brings in the kernel and tsx, which --help does not need.
        const { run } = await import('./run.ts');
        return await run(command.script, command.args, command.options);
      } catch (error) {
        if (!(error instanceof UsageError || error instanceof ConfigError)) throw error;
        process.stderr.write(`parsl-ts run: ${error.message}\n`);
        return EXIT_USAGE;
      }
  }
}

/** Parses the arguments after `parsl-ts`; throws `UsageError` naming what is wrong. */
export function parseCommandLine(argv: readonly string[]): Command {
  const first = argv[0];
  if (first === undefined || first === '-h' || first === '--help') return { kind: 'help' };
  if (first === '-v' || first === '--version') return { kind: 'version' };
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`);
  const rest = argv.slice(1);
  switch (first) {
    case 'help':
      if (rest.length > 0 && !['run', 'block', 'site', 'monitor', 'globus-auth'].includes(rest[0]!)) {
        throw new UsageError(`unknown command '${rest[0]}'; the commands are 'run', 'monitor', 'site', 'block' and 'globus-auth'`);
      }
      return { kind: 'help' };
    case 'run':
      return parseRun(rest);
    case 'block':
      return { kind: 'block', args: rest };
    case 'site':
      return { kind: 'site', args: rest };
    case 'monitor':
      return { kind: 'monitor', args: rest };
    case 'globus-auth':
      return { kind: 'globus-auth', args: rest };
    default:
      throw new UsageError(
        `unknown command '${first}'` + (/\.[cm]?[jt]sx?$/.test(first) ? `; to run a script, write 'parsl-ts run ${first}'` : ''),
      );
  }
}

const RUN_OPTIONS = ['--config', '--threads', '--retries', '--resume'] as const;
type RunOptionName = (typeof RUN_OPTIONS)[number];

/** Parses `[options] <script> [args...]`: the first argument that is not an option is the script. */
function parseRun(argv: readonly string[]): Command {
  const options: RunOptions = {};
  let i = 0;
  while (i < argv.length) {
    const token = argv[i]!;
    if (token === '--') {
      i++;
      break;
    }
    if (token === '-h' || token === '--help') return { kind: 'help' };
    if (!token.startsWith('-') || token === '-') break;
    const eq = token.indexOf('=');
    const name = eq >= 0 ? token.slice(0, eq) : token;
    if (!(RUN_OPTIONS as readonly string[]).includes(name)) {
      throw new UsageError(`unknown option '${name}' for 'run'; its options are ${RUN_OPTIONS.join(', ')}`);
    }
    // `--resume` alone resumes the latest run; `--resume=DIR` a given one (a separate word would be the script).
    if (name === '--resume') {
      options.resume = eq >= 0 ? token.slice(eq + 1) : 'latest';
      if (options.resume === '') throw new UsageError(`--resume= needs a run directory, as in '--resume=runinfo/003' (or '--resume' for the latest run)`);
      i++;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) {
      value = token.slice(eq + 1);
      i++;
    } else {
      value = argv[i + 1];
      // `--config --threads 4 x.ts` lacks a value; it does not name a file called '--threads'.
      if (value !== undefined && value.startsWith('--')) value = undefined;
      i += 2;
    }
    if (value === undefined || value === '') throw new UsageError(`${name} needs a value, as in '${example(name as RunOptionName)}'`);
    setRunOption(options, name as RunOptionName, value);
  }
  const script = argv[i];
  if (script === undefined) throw new UsageError(`'run' needs a script to run: parsl-ts run [options] <script> [arguments...]`);
  return { kind: 'run', options, script, args: argv.slice(i + 1) };
}

function setRunOption(options: RunOptions, name: RunOptionName, value: string): void {
  const count = (min: 0 | 1): number => {
    const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number) || number < min) {
      throw new UsageError(`${name}: expected ${min === 1 ? 'a positive' : 'a non-negative'} whole number; got '${value}'`);
    }
    return number;
  };
  switch (name) {
    case '--config':
      options.config = value;
      return;
    case '--threads':
      options.threads = count(1);
      return;
    case '--retries':
      options.retries = count(0);
      return;
    case '--resume':
      options.resume = value;
      return;
  }
}

function example(name: RunOptionName): string {
  return { '--config': '--config parsl.config.ts', '--threads': '--threads 4', '--retries': '--retries 2', '--resume': '--resume=runinfo/003' }[name];
}

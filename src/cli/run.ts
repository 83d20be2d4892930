/**
 * `parsl-ts run`: runs a script in this process, with tsx's loader and the chosen config
 * registered for `load()`, and turns SIGINT and SIGTERM into a graceful shutdown.
 */
import { existsSync, statSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { register as registerTsxCjs } from 'tsx/cjs/api';
import { register as registerTsxEsm } from 'tsx/esm/api';
import {
  buildConfig,
  cleanupLoadedKernels,
  environmentSettings,
  loadConfigModule,
  RESUME_ENV,
  setDefaultConfig,
  trackLoadedKernels,
  type DefaultConfigChoice,
} from '../config/from-environment.ts';
import { ConfigError } from '../common/errors.ts';
import { entryUrl, FROM_SOURCES } from '../common/package-files.ts';
import { clear } from '../kernel/load.ts';
import { retainStoresOnStop } from '../nats/server.ts';
import { moduleHooksUrl } from '../worker/module-hooks.ts';
import { UsageError } from './errors.ts';

/** The options of `parsl-ts run`, as parsed from the command line. */
export interface RunOptions {
  /** Path of a config module, relative to the working directory. */
  config?: string;
  /** Worker threads of the default `ThreadPoolExecutor`. */
  threads?: number;
  /** `Config.retries`. */
  retries?: number;
  /** `Config.resume` of every kernel the script loads: `'latest'` or a run directory. */
  resume?: string;
}

/** A script that threw while it was loading, or a config module that did: exit status 1. */
export const EXIT_SCRIPT_FAILED = 1;

/**
 * Runs `script` with `args`. Resolves once the script's top level has run; the process then
 * lives as long as the script keeps it busy. Throws `UsageError` or `ConfigError` (exit
 * status 2) before the script starts; a script that throws makes the process exit with 1.
 */
export async function run(script: string, args: readonly string[], options: RunOptions): Promise<number | undefined> {
  const scriptPath = existingFile(script, 'script');
  const env = environmentSettings();
  const configPath =
    options.config !== undefined
      ? existingFile(options.config, 'config module')
      : env.configPath !== undefined
        ? existingFile(env.configPath, 'config module that PARSL_TS_CONFIG names')
        : undefined;

  registerLoaders(pathToFileURL(scriptPath).href);

  const choice: DefaultConfigChoice = { threads: options.threads ?? env.threads, retries: options.retries ?? env.retries };
  if (configPath !== undefined) {
    try {
      choice.config = await loadConfigModule(configPath);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      return failed(`the config module ${options.config ?? configPath} threw while loading`, error);
    }
    choice.configSource = options.config !== undefined ? `--config ${options.config}` : `PARSL_TS_CONFIG=${configPath}`;
  }
  // Build it once now, so that a config the flags cannot apply to is reported before the script starts.
  buildConfig(choice);
  setDefaultConfig(choice);
  // Read by every kernel the script loads, its own `new Config(...)` included (kernel/kernel.ts).
  if (options.resume !== undefined) process.env[RESUME_ENV] = options.resume;
  trackLoadedKernels();
  handleSignals();

  // The script sees the command line it would see under `node script.ts args…`.
  process.argv = [process.argv[0] ?? process.execPath, scriptPath, ...args];
  try {
    await import(pathToFileURL(scriptPath).href);
  } catch (error) {
    return failed(undefined, error);
  }
  return undefined;
}

/** `path` resolved against the working directory; throws `UsageError` if it is not a file. */
function existingFile(path: string, what: string): string {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new UsageError(`cannot find the ${what} '${path}': no file at ${absolute}`);
  if (!statSync(absolute).isFile()) throw new UsageError(`the ${what} '${path}' is not a file (${absolute})`);
  return absolute;
}

/**
 * Registers tsx (TypeScript in `import` and `require`), and lets a script `import … from
 * 'parsl-ts'` where no parsl-ts is installed next to it (a global install, a fresh clone):
 * that import then gets this copy.
 *
 * The script itself always loads as an ES module. Scripts are written with `import` and
 * top-level `await`, as the README shows; but in a project of `type: commonjs` (what `npm
 * init` writes) or with no package.json, tsx would compile a `.ts` script to CommonJS, where
 * esbuild refuses top-level await. A `.cjs`/`.cts` script keeps its format; see
 * `moduleHooksUrl()` for the files the script imports.
 */
function registerLoaders(scriptUrl: string): void {
  // This file being TypeScript proves that a TypeScript loader for `import` is already active
  // (bin/parsl-ts.js registered tsx to load the sources); a second one would only cost time.
  if (!FROM_SOURCES) registerTsxEsm();
  registerTsxCjs();
  registerHooks(moduleHooksUrl({ parslTsIndex: entryUrl('index').href, esmEntry: scriptUrl }));
}

/** Reports what went wrong, stops any kernel the script loaded, and exits with status 1. */
async function failed(what: string | undefined, error: unknown): Promise<never> {
  if (what) process.stderr.write(`parsl-ts run: ${what}:\n`);
  console.error(error);
  await stopKernels();
  process.exit(EXIT_SCRIPT_FAILED);
}

/**
 * Stops the kernels the script loaded, whichever copy of parsl-ts it imported. The driver is
 * ending: their embedded NATS servers keep their JetStream stores on disk.
 */
async function stopKernels(): Promise<void> {
  retainStoresOnStop();
  await Promise.allSettled([clear(), cleanupLoadedKernels()]);
}

/**
 * SIGINT and SIGTERM stop the loaded kernels (outstanding tasks fail with `KernelClosedError`,
 * worker threads stop), then exit with 128 + the signal's number. A second signal exits at once.
 */
function handleSignals(): void {
  let stopping = false;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    const status = 128 + constants.signals[signal];
    if (stopping) process.exit(status);
    stopping = true;
    process.stderr.write(`\nparsl-ts: ${signal} received, stopping the kernel (send it again to exit at once)\n`);
    void stopKernels().finally(() => process.exit(status));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

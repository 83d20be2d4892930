/**
 * The config that `load()` uses when it is called with no argument, and how `parsl-ts run`
 * chooses it.
 *
 * Two channels, checked in this order:
 * 1. What `parsl-ts run` registered with `setDefaultConfig()` (its `--config`, `--threads` and
 *    `--retries` flags, over the `PARSL_TS_*` variables). A config module must be imported, which
 *    is async, while `load()` is sync: the command imports it before it starts the script.
 * 2. The variables `PARSL_TS_THREADS` and `PARSL_TS_RETRIES`, for a script started without the
 *    command (`PARSL_TS_THREADS=4 node --import tsx script.ts`). `PARSL_TS_CONFIG` names a module,
 *    so only the command or `configFromEnvironment()` can use it.
 *
 * Then `new Config()`.
 *
 * The registration lives on `globalThis` under a `Symbol.for` key, not in this module: a script
 * may import another copy of parsl-ts than the command's (`src/` next to a stale `dist/`, a local
 * install under a global one), and every copy must see it.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { ConfigError } from '../common/errors.ts';
import type { Executor } from '../executors/executor.ts';
import { ThreadPoolExecutor, type ThreadPoolExecutorOptions } from '../executors/thread-executor.ts';
import { Config, configOptionsOf } from './config.ts';

/** Absolute or relative (to the working directory) path of a config module. */
export const CONFIG_ENV = 'PARSL_TS_CONFIG';
/** Worker threads of the default `ThreadPoolExecutor`. */
export const THREADS_ENV = 'PARSL_TS_THREADS';
/** `Config.retries`. */
export const RETRIES_ENV = 'PARSL_TS_RETRIES';
/** `Config.resume` for a config that does not set it (what `parsl-ts run --resume` sets). */
export const RESUME_ENV = 'PARSL_TS_RESUME';

/** The run to resume that `parsl-ts run --resume` asked for, if any. */
export function environmentResume(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[RESUME_ENV];
  return value === undefined || value === '' ? undefined : value;
}

/** What the config of a run is made of. Every field is optional; none gives `new Config()`. */
export interface DefaultConfigChoice {
  /** A config, usually the default export of a config module. */
  config?: Config;
  /** Names where `config` came from in error messages, such as `--config conf.ts`. */
  configSource?: string;
  /** Worker threads: a `ThreadPoolExecutor` with this many, or with `config`, each of its thread pools resized. */
  threads?: number;
  /** Overrides `Config.retries`. */
  retries?: number;
}

/** What the environment asks for, validated but not loaded. */
export interface EnvironmentSettings {
  /** Absolute path of the config module. */
  configPath?: string;
  threads?: number;
  retries?: number;
}

/** The part of a DataFlowKernel the command needs to stop it. */
export interface LoadedKernel {
  readonly state: string;
  cleanup(): Promise<void>;
}

interface Registry {
  choice: DefaultConfigChoice | undefined;
  /** Set by the command: remember loaded kernels so that a signal can stop them. */
  tracking: boolean;
  kernels: Set<LoadedKernel>;
}

const REGISTRY_KEY = Symbol.for('parsl-ts.default-config');

function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  return (holder[REGISTRY_KEY] ??= { choice: undefined, tracking: false, kernels: new Set() });
}

/**
 * Makes `load()` with no argument use `choice` (`undefined` forgets it). `parsl-ts run` calls
 * this before it starts the script.
 */
export function setDefaultConfig(choice: DefaultConfigChoice | undefined): void {
  registry().choice = choice;
}

/**
 * The config for `load()` with no argument: what `setDefaultConfig()` registered, else what
 * `PARSL_TS_THREADS` and `PARSL_TS_RETRIES` ask for, else `new Config()`. Built anew on each
 * call when flags or variables are involved, so that each kernel gets its own executors.
 * Throws `ConfigError` for a bad variable, and for `PARSL_TS_CONFIG` outside `parsl-ts run`.
 */
export function defaultConfig(): Config {
  const choice = registry().choice;
  if (choice) return buildConfig(choice);
  const settings = environmentSettings();
  if (settings.configPath !== undefined) {
    throw new ConfigError(
      CONFIG_ENV,
      'load() cannot import a config module by itself (importing is async). ' +
        `Run the script with 'parsl-ts run', or write load(await configFromEnvironment()).`,
    );
  }
  return buildConfig(settings);
}

/**
 * The config the `PARSL_TS_*` variables describe, with the module `PARSL_TS_CONFIG` names
 * imported (`PARSL_TS_THREADS` resizes its thread pools, `PARSL_TS_RETRIES` replaces its
 * `retries`; every other field is kept); `undefined` when none is set. For scripts run with
 * plain `node`, where `load()` cannot import a config module by itself.
 *
 * Throws `ConfigError` for a bad variable or a module whose default export is not a `Config`.
 *
 * @example
 * ```ts
 * import { configFromEnvironment, load } from 'parsl-ts';
 * await using _dfk = load(await configFromEnvironment());
 * ```
 */
export async function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<Config | undefined> {
  const settings = environmentSettings(env);
  if (settings.configPath === undefined && settings.threads === undefined && settings.retries === undefined) return undefined;
  const choice: DefaultConfigChoice = { threads: settings.threads, retries: settings.retries };
  if (settings.configPath !== undefined) {
    choice.config = await loadConfigModule(settings.configPath);
    choice.configSource = `${CONFIG_ENV}=${settings.configPath}`;
  }
  return buildConfig(choice);
}

/** Reads and checks the `PARSL_TS_*` variables; throws `ConfigError` naming a bad one. */
export function environmentSettings(env: NodeJS.ProcessEnv = process.env): EnvironmentSettings {
  const settings: EnvironmentSettings = {};
  const configPath = env[CONFIG_ENV];
  if (configPath !== undefined && configPath !== '') {
    settings.configPath = isAbsolute(configPath) ? configPath : resolve(configPath);
  }
  const threads = env[THREADS_ENV];
  if (threads !== undefined && threads !== '') settings.threads = parseCount(THREADS_ENV, threads, 1);
  const retries = env[RETRIES_ENV];
  if (retries !== undefined && retries !== '') settings.retries = parseCount(RETRIES_ENV, retries, 0);
  return settings;
}

/**
 * Parses a whole number of at least `min` written in decimal; throws `ConfigError` naming
 * `what` otherwise.
 */
export function parseCount(what: string, text: string, min: 0 | 1): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(what, `expected ${min === 1 ? 'a positive' : 'a non-negative'} whole number; got '${text}'`);
  }
  return value;
}

/**
 * Imports a config module: its default export is a `Config`, or a function (sync or async)
 * that returns one. Throws `ConfigError` for anything else; errors thrown by the module itself
 * pass through.
 */
export async function loadConfigModule(path: string): Promise<Config> {
  const module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  let value = module.default;
  if (typeof value === 'function') value = await (value as () => unknown)();
  if (!isConfig(value)) {
    const shown = value === undefined ? 'nothing' : inspect(value, { depth: 0, breakLength: Infinity });
    throw new ConfigError(
      path,
      `a config module's default export must be a Config, or a function returning one; got ${shown}. ` +
        'Write: export default new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 4 })] })',
    );
  }
  return value;
}

/**
 * Builds a config from a choice. `threads` gives a `ThreadPoolExecutor` with that many
 * threads, or resizes each thread pool of `config`; `retries` replaces `config.retries`.
 */
export function buildConfig(choice: DefaultConfigChoice): Config {
  const { config, threads, retries } = choice;
  if (!config) {
    return new Config({
      ...(threads === undefined ? {} : { executors: [new ThreadPoolExecutor({ maxThreads: threads })] }),
      ...(retries === undefined ? {} : { retries }),
    });
  }
  // A config made by another copy of parsl-ts fails the kernel's `instanceof Config`: rebuild it.
  if (threads === undefined && retries === undefined && config instanceof Config) return config;
  let executors = config.executors;
  if (threads !== undefined) {
    if (!executors.some(isThreadPool)) {
      throw new ConfigError(
        choice.configSource ?? 'threads',
        `the config has no ThreadPoolExecutor whose threads could be set (executors: ${executors.map((e) => `'${e.label}'`).join(', ')})`,
      );
    }
    executors = executors.map((executor) => (isThreadPool(executor) ? resizeThreadPool(executor, threads) : executor));
  }
  return new Config({ ...configOptionsOf(config), executors, retries: retries ?? config.retries });
}

/** True for a `Config` of this copy of parsl-ts or of another one. */
function isConfig(value: unknown): value is Config {
  if (value instanceof Config) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Config>;
  return value.constructor?.name === 'Config' && Array.isArray(candidate.executors) && typeof candidate.retries === 'number';
}

type ThreadPoolLike = Executor & { options: ThreadPoolExecutorOptions & { maxThreads: number } };

/** A `ThreadPoolExecutor` of this copy of parsl-ts or of another one. */
function isThreadPool(executor: Executor): executor is ThreadPoolLike {
  if (executor instanceof ThreadPoolExecutor) return true;
  const options = (executor as Partial<ThreadPoolLike>).options;
  return executor.constructor?.name === 'ThreadPoolExecutor' && typeof options?.maxThreads === 'number';
}

/** The same executor with `threads` threads, made by its own class so that it stays of its copy. */
function resizeThreadPool(executor: ThreadPoolLike, threads: number): Executor {
  const Class = executor.constructor as new (options: ThreadPoolExecutorOptions) => Executor;
  return new Class({ ...executor.options, maxThreads: threads });
}

/**
 * Called by `load()` with each kernel it starts. While `parsl-ts run` tracks them, they are
 * remembered so that Ctrl-C can stop them, whichever copy of parsl-ts started them.
 */
export function noteLoadedKernel(kernel: LoadedKernel): void {
  const { tracking, kernels } = registry();
  if (!tracking) return;
  for (const known of kernels) if (known.state === 'closed') kernels.delete(known);
  kernels.add(kernel);
}

/** Starts remembering the kernels `load()` starts (`parsl-ts run` does this). */
export function trackLoadedKernels(): void {
  registry().tracking = true;
}

/** Stops every kernel that `noteLoadedKernel()` remembered, and forgets them. */
export async function cleanupLoadedKernels(): Promise<void> {
  const { kernels } = registry();
  const all = [...kernels];
  kernels.clear();
  await Promise.allSettled(all.map((kernel) => kernel.cleanup()));
}

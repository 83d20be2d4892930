import { lazySchema, z } from '../common/zod.ts';
import { FunctionSerializationError } from '../common/errors.ts';
import type { AppKind } from '../wire/protocol.ts';
import { durationSchema, parseOptions } from '../common/validate.ts';
import { currentKernel } from './current-kernel.ts';
import type { File } from '../staging/file.ts';
import { sourceRef } from './function-ref.ts';
import { callerModuleUrl } from './module-imports.ts';
import type { FunctionRef } from '../wire/protocol.ts';
import type { AppFuture, DataFuture } from './future.ts';

const streamSchema = lazySchema(() => z.union([z.string().min(1), z.tuple([z.string().min(1), z.enum(['w', 'a', 'w+', 'a+'])])]));

const appOptionsSchema = lazySchema(() =>
  z
    .object({
      /** Labels of the executors this app may run on; `'all'` for any. @default 'all' */
      executors: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]).default('all'),
      /**
       * Reuse the outcome of an earlier call with the same arguments in this run, its result or its
       * error (Parsl's memoization); such a call ends in state `memo_done` without running. Off for the
       * whole run with `Config.appCache: false`. A resumed run (`Config.resume`) caches every app
       * that does not say `cache: false`.
       * @default false
       */
      cache: z.boolean().optional(),
      /** Keys of the call's trailing options object left out of its memo key (Parsl's `ignore_for_cache`). @default [] */
      ignoreForCache: z.array(z.string().min(1)).default([]),
      /** Key `File` arguments by the sha256 of their contents instead of their URL. @default false */
      cacheFileContent: z.boolean().default(false),
      /**
       * What identifies the app in memo keys: `'code'` its source text (and module URL and export),
       * so that an edited app is a new key; `'name'` its name only, as Parsl does. @default 'code'
       */
      cacheKeyBy: z.enum(['code', 'name']).default('code'),
      /** Default walltime of each call. @default none: no limit */
      walltime: durationSchema.optional(),
      /** Default stdout of each call of a bash app. @default none: the command's stdout is discarded */
      stdout: streamSchema.optional(),
      /** Default stderr of each call of a bash app. @default none: the command's stderr is discarded */
      stderr: streamSchema.optional(),
      /** Name shown in futures and errors. @default the function's name */
      name: z.string().min(1).optional(),
      /**
       * `import.meta.url` of the module that exports this app: workers then import the module
       * instead of rebuilding the function from its source, so it may use module scope.
       * @default none: an inline app, sent by its source
       */
      module: z.union([z.string().min(1), z.instanceof(URL)]).optional(),
      /** Export name of the app in `module`. @default found by importing the module */
      exportName: z.string().min(1).optional(),
    })
    .strict()
    .refine((o) => o.exportName === undefined || o.module !== undefined, {
      message: "'exportName' needs 'module' (the import.meta.url of the module that exports the app)",
      path: ['exportName'],
    }),
);

/**
 * Options of `app()`, `bashApp()` and `joinApp()`.
 * @interface
 *
 * @example
 * ```ts
 * const fetchPage = app(async (url: string) => (await fetch(url)).text(), {
 *   executors: ['local'], cache: true, walltime: '30s', name: 'fetchPage',
 * });
 * ```
 */
export type AppOptions = z.input<typeof appOptionsSchema>;
/** App options with defaults filled in. */
export type ResolvedAppOptions = z.output<typeof appOptionsSchema>;

const APP_BRAND = Symbol.for('parsl-ts.App');
let appIds = 0;

/** What the kernel knows of an app: its function, its kind, its options and how workers find it. */
export class AppDefinition {
  readonly id = ++appIds;
  readonly name: string;
  readonly kind: AppKind;
  readonly fn: Function;
  readonly options: ResolvedAppOptions;
  #ref: FunctionRef | undefined;
  #refPromise: Promise<FunctionRef> | undefined;

  /**
   * @param moduleUrl the module that made the app (the caller of `app()`): an inline app may
   *   read what that module imports
   */
  constructor(kind: AppKind, fn: Function, options: ResolvedAppOptions, moduleUrl?: string) {
    this.kind = kind;
    this.fn = fn;
    this.options = options;
    this.name = options.name ?? (fn.name || `${kind}_app_${this.id}`);
    if (kind === 'join') return; // Join apps run in this thread: closures are fine.
    if (options.module !== undefined) {
      const module = String(options.module);
      if (options.exportName !== undefined) {
        this.#ref = { kind: 'module', name: this.name, module, exportName: options.exportName };
      }
    } else {
      this.#ref = sourceRef(fn, this.name, moduleUrl);
    }
  }

  /** How a worker finds the code; for a module app without `exportName`, found on first use. */
  functionRef(): FunctionRef | Promise<FunctionRef> {
    if (this.#ref) return this.#ref;
    return (this.#refPromise ??= this.#findExport().then((ref) => (this.#ref = ref)));
  }

  async #findExport(): Promise<FunctionRef> {
    const module = String(this.options.module);
    const exports = (await import(module)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(exports)) {
      if ((value as Record<symbol, unknown> | undefined)?.[APP_BRAND] === this) {
        return { kind: 'module', name: this.name, module, exportName };
      }
    }
    throw new FunctionSerializationError(
      `app '${this.name}' was created with { module: '${module}' } but that module does not export it; ` +
        "export the app, or give { exportName: '…' }.",
    );
  }
}

/**
 * A value or anything that resolves to it: the futures of other apps, promises.
 *
 * @example
 * ```ts
 * const inc = app((x: number) => x + 1);
 * inc(inc(1));                          // an AppFuture<number> is a Dep<number>
 * ```
 */
export type Dep<T> = T | PromiseLike<T> | (T extends File ? DataFuture : never);

/**
 * What a call accepts for a parameter of type `T`: a value, a future, or for options objects, futures inside.
 *
 * @example
 * ```ts
 * const total = app((o: { inputs: number[] }) => o.inputs.reduce((a, b) => a + b, 0));
 * total({ inputs: [1, Promise.resolve(2), total({ inputs: [3] })] });   // Arg<{ inputs: number[] }>
 * ```
 */
export type Arg<T> =
  | Dep<T>
  | (T extends readonly (infer E)[]
      ? readonly Dep<E>[]
      : T extends Record<string, unknown>
        ? { [K in keyof T]: T[K] extends readonly (infer E)[] | undefined ? readonly Dep<E>[] | Dep<T[K]> : Dep<T[K]> }
        : never);

/**
 * The arguments of an app call: each parameter may be given as a future.
 *
 * @example
 * ```ts
 * type Args = AppArgs<[number, { inputs: number[] }]>;
 * // [number | PromiseLike<number>, { inputs: readonly (number | PromiseLike<number>)[] } | …]
 * ```
 */
export type AppArgs<P extends unknown[]> = { [K in keyof P]: Arg<P[K]> };

/**
 * Keyword arguments the runtime reads from a call's trailing options object, as Parsl does.
 *
 * @example
 * ```ts
 * const count = bashApp((path: string, _o: { stdout: [string, 'w']; walltime: string }) => `wc -l < ${path}`);
 * await count('/etc/passwd', { stdout: ['lines.txt', 'w'], walltime: '10s' });
 * ```
 */
export interface ParslCallOptions {
  /** Files and futures the call reads; futures among them are dependencies. @default [] */
  inputs?: unknown[];
  /** Files the call writes; each gets a `DataFuture` in `future.outputs`. @default [] */
  outputs?: (File | string)[];
  /** A bash app's stdout: a path (appended to), or `[path, 'w' | 'a']`. @default the app's `stdout` option, else none */
  stdout?: string | [string, 'w' | 'a' | 'w+' | 'a+'];
  /** A bash app's stderr, like `stdout`. @default the app's `stderr` option, else none */
  stderr?: string | [string, 'w' | 'a' | 'w+' | 'a+'];
  /** Walltime of this call: milliseconds, or a string such as `'30s'`. @default the app's `walltime` option, else no limit */
  walltime?: number | string;
  /**
   * Cancels the call when it aborts, as `future.cancel(signal.reason)` does; an aborted signal
   * fails the call at once. Not passed to the app: it reads its own with `taskSignal()`.
   * @default none
   */
  signal?: AbortSignal;
}

/** The options object a call may add to the app's own parameters. */
export interface CancelOption {
  /** See `ParslCallOptions.signal`. */
  signal: AbortSignal;
}

/** The keys that make a trailing plain object the call's options object. */
export const CALL_OPTION_KEYS: ReadonlySet<string> = new Set(['inputs', 'outputs', 'stdout', 'stderr', 'walltime', 'signal']);

/**
 * An app: call it like the function, get an `AppFuture` back at once.
 *
 * @example
 * ```ts
 * const add: App<[number, number], number> = app((a: number, b: number) => a + b);
 * add(1, add(2, 3));                    // futures are accepted for any parameter
 * ```
 */
export type App<P extends unknown[], R> = ((...args: AppArgs<P>) => AppFuture<R>) &
  /** Any call may end with `{ signal }`, even when the function takes no options object. */
  ((...args: [...AppArgs<P>, CancelOption]) => AppFuture<R>) & {
  /** The app's name. */
  readonly appName: string;
  /** The plain function, to call without the runtime. */
  readonly fn: (...args: P) => unknown;
};

function makeApp<P extends unknown[], R>(kind: AppKind, fn: Function, options: AppOptions | undefined, caller: Function): App<P, R> {
  if (typeof fn !== 'function') {
    throw new TypeError(`${caller.name}() expects a function as its first argument, got ${typeof fn}`);
  }
  const resolved = parseOptions(appOptionsSchema, options ?? {}, `${caller.name}() options`);
  // Join apps run in this thread, and module apps are imported: only inline apps need their module.
  const moduleUrl = kind !== 'join' && resolved.module === undefined ? callerModuleUrl(caller) : undefined;
  const definition = new AppDefinition(kind, fn, resolved, moduleUrl);
  const call = (...args: unknown[]): AppFuture<R> => currentKernel().submit(definition, args) as AppFuture<R>;
  Object.defineProperty(call, 'name', { value: definition.name });
  Object.defineProperty(call, 'appName', { value: definition.name });
  Object.defineProperty(call, 'fn', { value: fn });
  Object.defineProperty(call, APP_BRAND, { value: definition });
  return call as App<P, R>;
}

/**
 * Turns a function into an app (Parsl's `python_app`): each call returns an `AppFuture` at once
 * and runs on a worker when the futures among its arguments have resolved.
 *
 * The function is sent to workers by its source, with the static imports of its module that it
 * reads (`import { hostname } from 'node:os'` at the top of the script): the worker imports them
 * again, resolved from that module. Any other variable it reads from outside is refused here;
 * to use module scope, export the app from a module and create it with
 * `{ module: import.meta.url }`.
 *
 * @example
 * ```ts
 * const double = app((x: number) => x * 2);
 * const four = await double(double(1));
 * ```
 */
export function app<P extends unknown[], R>(fn: (...args: P) => R, options?: AppOptions): App<P, Awaited<R>> {
  return makeApp('python', fn, options, app);
}

/**
 * Turns a function that returns a command line into a bash app: the command runs under bash
 * on a worker; the future resolves to the exit code 0, or fails with `BashExitFailure`.
 * `stdout` and `stderr` in the call's options object redirect its streams.
 *
 * @example
 * ```ts
 * const echo = bashApp((msg: string, _o: { stdout: string }) => `echo ${msg}`);
 * await echo('hi', { stdout: 'hi.txt' });
 * ```
 */
export function bashApp<P extends unknown[]>(
  fn: (...args: P) => string | Promise<string>,
  options?: AppOptions,
): App<P, number> {
  return makeApp('bash', fn, options, bashApp);
}

/**
 * What a join app's future resolves to, given what its function returns.
 *
 * @example
 * ```ts
 * const pair = joinApp(() => [app(() => 1)(), app(() => 'a')()] as const);
 * // Joined<readonly [AppFuture<number>, AppFuture<string>]> is (number | string)[]
 * ```
 */
export type Joined<R> = R extends readonly PromiseLike<infer U>[] ? U[] : R extends PromiseLike<infer U> ? U : R;

/**
 * A join app runs in this thread and returns the future of another app (or an array of them);
 * its own future resolves when those do. Use it to build parts of the graph at run time.
 *
 * @example
 * ```ts
 * const square = app((x: number) => x * x);
 * const squares = joinApp((n: number) => Array.from({ length: n }, (_, i) => square(i)));
 * console.log(await squares(4));        // [0, 1, 4, 9]
 * ```
 */
export function joinApp<P extends unknown[], R>(fn: (...args: P) => R, options?: AppOptions): App<P, Joined<Awaited<R>>> {
  return makeApp('join', fn, options, joinApp);
}

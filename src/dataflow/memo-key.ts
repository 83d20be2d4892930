import * as crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FunctionRef } from '../wire/protocol.ts';
import type { File } from '../staging/file.ts';
import { CanonicalWriter, Unkeyable } from './canonical.ts';
import { defaultFileHashCache, type FileHashCache } from './file-hash.ts';

/**
 * Memo keys a user can trust: a sha256 of the app's identity and of its resolved arguments
 * in a canonical encoding, so that equal calls get equal keys in this run, in a resumed run,
 * and on another machine, and an edited app gets a new key.
 *
 * - Identity: the app's kind and its source text (`Function.prototype.toString`), plus its
 *   module URL and export name for module apps. Editing the function's text makes a new key;
 *   editing a helper it calls does not (as in Parsl, which hashes the function alone). With
 *   `keyBy: 'name'` only the kind and name count, as in Parsl's default.
 * - Arguments: see `CanonicalWriter` for the encoding (plain objects and Map/Set are keyed
 *   independently of their order). Keys of the trailing options object named in
 *   `ignoreForCache` are left out (`stdout`, `stderr`…). A `File` counts by its URL, or with
 *   `cacheFileContent: true` by the sha256 of its contents (files in `outputs` always by URL:
 *   they are written by the call, so their contents say nothing about its inputs).
 * - A call that cannot be keyed (a function, a symbol, a class instance, shared memory…)
 *   gets `{ ok: false, reason }`: it runs uncached, and the reason says why.
 */

/** What identifies an app for its memo keys. */
export interface AppIdentity {
  /** `python`, `bash`, `join`… */
  kind: string;
  /** The app's name (Parsl's `func_name`). */
  name: string;
  /** The function; its source text is part of the key. */
  fn?: Function | undefined;
  /** How workers find the code; a module app's URL and export name are part of the key. */
  ref?: FunctionRef | undefined;
}

/** How a call is keyed. */
export interface MemoKeyOptions {
  /**
   * `'code'`: the app's source text (and module URL and export name) are part of the key, so
   * an edited app is a new key. `'name'`: only its kind and name, as Parsl does; results
   * survive edits that do not change them (beware of edits that do).
   * @default 'code'
   */
  keyBy?: 'code' | 'name';
  /** Keys of the trailing options object left out of the key (Parsl's `ignore_for_cache`). @default [] */
  ignoreForCache?: readonly string[];
  /** Key `File` arguments by the sha256 of their contents instead of their URL. @default false */
  cacheFileContent?: boolean;
  /** Index of the trailing options object in `args`, -1 for none (see `findCallOptions`). @default -1 */
  kwargsIndex?: number;
  /** Where file hashes are remembered between calls. @default a process-wide cache */
  fileHashes?: FileHashCache;
}

/** A memo key (64 hex digits), or why the call has none. */
export type MemoKeyResult = { ok: true; key: string } | { ok: false; reason: string };

/** Bumped when the encoding changes, so that old checkpoints miss instead of matching wrongly. */
const KEY_FORMAT = 'parsl-ts memo key v1';

/**
 * The memo key of a call. Asynchronous only when files are hashed by content (they are read
 * in a stream, off the event loop's back); see `memoKeySync` for the synchronous form.
 */
export async function memoKey(app: AppIdentity, args: readonly unknown[], options: MemoKeyOptions = {}): Promise<MemoKeyResult> {
  if (!options.cacheFileContent) return keyWith(app, args, options, undefined);
  const cache = options.fileHashes ?? defaultFileHashCache;
  const wanted = new Map<string, string | Error>();
  const first = keyWith(app, args, options, (path) => {
    wanted.set(path, '');
    return '';
  });
  if (!first.ok || wanted.size === 0) return first;
  await Promise.all(
    [...wanted.keys()].map(async (path) => {
      wanted.set(path, await cache.hash(path).catch((error: Error) => error));
    }),
  );
  return keyWith(app, args, options, (path) => wanted.get(path) ?? new Error('not hashed'));
}

/** `memoKey`, reading files (with `cacheFileContent`) synchronously. */
export function memoKeySync(app: AppIdentity, args: readonly unknown[], options: MemoKeyOptions = {}): MemoKeyResult {
  const cache = options.fileHashes ?? defaultFileHashCache;
  return keyWith(app, args, options, options.cacheFileContent ? (path) => cache.hashSync(path) : undefined);
}

/** Content hash (hex) of a local file, or the error that prevented it. */
type ContentOf = (path: string) => string | Error;

function keyWith(app: AppIdentity, args: readonly unknown[], options: MemoKeyOptions, contentOf: ContentOf | undefined): MemoKeyResult {
  const identity = identityOf(app, options.keyBy ?? 'code');
  if (typeof identity !== 'string') return identity;
  const ignored = ignoredSet(options.ignoreForCache);
  const kwargsIndex = options.kwargsIndex ?? -1;
  const writer = new CanonicalWriter((file, path, inOutputs) => fileToken(file, path, inOutputs, contentOf));
  try {
    writer.string(KEY_FORMAT);
    writer.string(identity);
    writer.length(args.length);
    for (let i = 0; i < args.length; i++) {
      if (i === kwargsIndex) writer.kwargs(args[i] as Record<string, unknown>, ignored, `args[${i}]`);
      else writer.value(args[i], `args[${i}]`);
    }
  } catch (error) {
    if (error instanceof Unkeyable) return { ok: false, reason: error.message };
    // A getter that throws, a revoked Proxy…: the call runs uncached rather than failing here.
    return { ok: false, reason: `the arguments cannot be read for a key: ${(error as Error)?.message ?? String(error)}` };
  }
  return { ok: true, key: sha256Hex(writer.bytes()) };
}

/**
 * One-shot sha256 (Node 20.12+): a third of the cost of a `Hash` object for a key's few dozen
 * bytes (0.25 against 0.75 µs), and memo keys are made on the DFK's thread for every cached call.
 */
const sha256Hex: (bytes: Buffer) => string =
  typeof crypto.hash === 'function'
    ? (bytes) => crypto.hash('sha256', bytes, 'hex')
    : (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

/** `ignoreForCache` as a set, made once per list (callers pass the same list for every call of an app). */
const ignoredSets = new WeakMap<readonly string[], ReadonlySet<string>>();
const NONE: ReadonlySet<string> = new Set();
function ignoredSet(list: readonly string[] | undefined): ReadonlySet<string> {
  if (list === undefined || list.length === 0) return NONE;
  let set = ignoredSets.get(list);
  if (set === undefined) ignoredSets.set(list, (set = new Set(list)));
  return set;
}

function identityOf(app: AppIdentity, keyBy: 'code' | 'name'): string | { ok: false; reason: string } {
  if (keyBy === 'name') {
    if (!app.name) return { ok: false, reason: "the app has no name, and keyBy: 'name' keys apps by their name" };
    return `${app.kind}\0name\0${app.name}`;
  }
  const ref = app.ref;
  const source = app.fn !== undefined ? Function.prototype.toString.call(app.fn) : ref?.kind === 'source' ? ref.source : undefined;
  if (source === undefined) return { ok: false, reason: `the code of app ${app.name} is unknown (no function and no source)` };
  if (source.endsWith('{ [native code] }')) {
    // Bound and built-in functions all print the same text: keyed by it, they would share results.
    return { ok: false, reason: `the source of app ${app.name} is not readable (a bound or built-in function); give it keyBy: 'name'` };
  }
  const module = ref?.kind === 'module' ? `${ref.module}#${ref.exportName}` : '';
  return `${app.kind}\0code\0${module}\0${source}`;
}

function fileToken(file: File, path: string, inOutputs: boolean, contentOf: ContentOf | undefined): string {
  if (contentOf === undefined || inOutputs) return `url\0${file.url}`;
  if (file.scheme !== 'file') {
    throw new Unkeyable(
      `${path} is ${file.url}, whose contents cannot be hashed here (not a local file), and cacheFileContent: true keys files by content`,
    );
  }
  const content = contentOf(fileURLToPath(file.url));
  if (content instanceof Error) throw new Unkeyable(`${path}: cannot hash the contents of ${file.path}: ${content.message}`);
  return `sha256\0${content}`;
}


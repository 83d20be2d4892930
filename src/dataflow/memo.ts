import type { AppDefinition } from '../apps/app.ts';
import type { FunctionRef } from '../wire/protocol.ts';
import { memoKeySync } from './memo-key.ts';

/** What the memo table holds for a call: its result, or the error it failed with. */
export type MemoEntry = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * Call options that never change a result, so never part of a key: where the streams go
 * (`AUTO_LOGNAME` names a file per task) and the call's abort signal (Parsl leaves
 * stdout/stderr out of its hashes the same way).
 */
const ALWAYS_IGNORED = ['stdout', 'stderr', 'signal'];

/**
 * Outcomes of apps created with `{ cache: true }`, by memo key (see memo-key.ts: the app's
 * identity and its resolved arguments, canonically encoded). Within a run, failures are
 * reused as well as results, as Parsl does ("reuse of results and exceptions within the same
 * run"); each entry says which it is, so that checkpoints keep results only. Kept by the DFK
 * supervisor.
 */
export class Memoizer {
  readonly #entries = new Map<string, MemoEntry>();
  /** Each app's keys left out of its memo keys: one list per app, so that memo-key.ts makes its set once. */
  readonly #ignored = new WeakMap<AppDefinition, readonly string[]>();
  /** Apps already warned about a call that could not be keyed: one warning per app. */
  readonly #warned = new WeakSet<AppDefinition>();

  /**
   * The key of a call, or undefined when it cannot be keyed (it then runs uncached, and the
   * first such call of each app emits a warning naming the reason).
   */
  keyOf(app: AppDefinition, ref: FunctionRef | undefined, args: unknown[], kwargsIndex: number): string | undefined {
    const result = memoKeySync({ kind: app.kind, name: app.name, fn: app.fn, ref }, args, {
      kwargsIndex: kwargsIndex >= 0 || app.options.ignoreForCache.length === 0 ? kwargsIndex : trailingPlainObject(args),
      ignoreForCache: this.#ignoredOf(app),
      cacheFileContent: app.options.cacheFileContent,
      keyBy: app.options.cacheKeyBy,
    });
    if (result.ok) return result.key;
    if (!this.#warned.has(app)) {
      this.#warned.add(app);
      process.emitWarning(`app ${app.name}: a call runs uncached: ${result.reason}`, { code: 'PARSL_TS_UNCACHED' });
    }
    return undefined;
  }

  #ignoredOf(app: AppDefinition): readonly string[] {
    let list = this.#ignored.get(app);
    if (list === undefined) this.#ignored.set(app, (list = [...ALWAYS_IGNORED, ...app.options.ignoreForCache]));
    return list;
  }

  /** The outcome of `key` in this run, else the result `stored` has for it (then kept here too). */
  get(key: string, stored?: { get(key: string): { value: unknown } | undefined }): MemoEntry | undefined {
    const known = this.#entries.get(key);
    if (known || !stored) return known;
    const hit = stored.get(key);
    if (!hit) return undefined;
    const entry = { ok: true, value: hit.value } as const;
    this.#entries.set(key, entry);
    return entry;
  }

  setResult(key: string, value: unknown): void {
    this.#entries.set(key, { ok: true, value });
  }

  setFailure(key: string, error: unknown): void {
    this.#entries.set(key, { ok: false, error });
  }
}

/**
 * With `ignoreForCache`, a trailing plain object is the call's options object even when it has
 * none of the kernel's own keys (`{ a, b, note }`): its named keys are left out of the key.
 */
function trailingPlainObject(args: readonly unknown[]): number {
  const last = args[args.length - 1];
  if (typeof last !== 'object' || last === null) return -1;
  const proto = Object.getPrototypeOf(last);
  return proto === Object.prototype || proto === null ? args.length - 1 : -1;
}

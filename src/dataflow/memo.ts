import { createHash } from 'node:crypto';
import { serialize } from 'node:v8';
import type { AppDefinition } from '../apps/app.ts';
import { encodeValue } from '../wire/codec.ts';
import type { FunctionRef } from '../wire/protocol.ts';

/** What the memo table holds for a call: its result, or the error it failed with. */
export type MemoEntry = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * Outcomes of apps created with `{ cache: true }`, by a hash of the app's code and its resolved
 * arguments (Parsl's memoization). Within a run, failures are reused as well as results, as
 * Parsl does ("reuse of results and exceptions within the same run"); each entry says which it
 * is, so that checkpoints can keep results only. Kept by the DFK supervisor.
 */
export class Memoizer {
  readonly #entries = new Map<string, MemoEntry>();

  /** The key of a call, or undefined when its arguments cannot be hashed (they cannot travel either). */
  keyOf(app: AppDefinition, ref: FunctionRef | undefined, args: unknown[]): string | undefined {
    let bytes: Buffer;
    try {
      bytes = serialize(encodeValue(args, 'argument'));
    } catch {
      return undefined;
    }
    const code = ref === undefined ? Function.prototype.toString.call(app.fn) : ref.kind === 'source' ? ref.source + (ref.imports ? JSON.stringify(ref.imports) : '') : `${ref.module}#${ref.exportName}`;
    return createHash('sha256').update(app.kind).update('\0').update(code).update('\0').update(bytes).digest('hex');
  }

  get(key: string): MemoEntry | undefined {
    return this.#entries.get(key);
  }

  setResult(key: string, value: unknown): void {
    this.#entries.set(key, { ok: true, value });
  }

  setFailure(key: string, error: unknown): void {
    this.#entries.set(key, { ok: false, error });
  }
}

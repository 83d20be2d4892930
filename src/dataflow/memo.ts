import { createHash } from 'node:crypto';
import { serialize } from 'node:v8';
import type { AppDefinition } from '../apps/app.ts';
import { encodeValue } from '../wire/codec.ts';
import type { FunctionRef } from '../wire/protocol.ts';

/**
 * Results of apps created with `{ cache: true }`, by a hash of the app's code and its resolved
 * arguments (Parsl's memoization). Kept by the DFK supervisor; the place where checkpoints
 * will write and resume from.
 */
export class Memoizer {
  readonly #results = new Map<string, unknown>();

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

  has(key: string): boolean {
    return this.#results.has(key);
  }

  get(key: string): unknown {
    return this.#results.get(key);
  }

  set(key: string, value: unknown): void {
    this.#results.set(key, value);
  }

  get size(): number {
    return this.#results.size;
  }
}

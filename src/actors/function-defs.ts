import type { AppDefinition } from '../apps/app.ts';
import type { FunctionDef } from '../wire/protocol.ts';

/**
 * The DFK's `FunctionDef` of each app (how a worker finds its code), made once per app. An
 * app whose module is still being searched has none yet: `of` returns undefined and calls
 * `found` (or `failed`) later, outside the current message.
 */
export class FunctionDefs {
  readonly #defs = new Map<AppDefinition, FunctionDef>();

  of(app: AppDefinition, found: () => void, failed: (error: unknown) => void): FunctionDef | undefined {
    const known = this.#defs.get(app);
    if (known) return known;
    if (app.kind === 'join') {
      const def: FunctionDef = { id: app.id, ref: { kind: 'source', name: app.name, source: '' } };
      this.#defs.set(app, def);
      return def;
    }
    const ref = app.functionRef();
    if (!(ref instanceof Promise)) {
      const def: FunctionDef = { id: app.id, ref };
      this.#defs.set(app, def);
      return def;
    }
    ref.then(found, failed);
    return undefined;
  }
}

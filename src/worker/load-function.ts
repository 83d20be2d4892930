/**
 * Rebuilds an app's function in a worker thread, from its source (with the imports it takes
 * along) or by importing the module that exports it.
 */
import { isBuiltin, register } from 'node:module';
import type { FunctionRef, SourceImports } from '../wire/protocol.ts';
import { importFromSpecifier, moduleHooksUrl } from './module-hooks.ts';
import { entryUrl } from '../common/package-files.ts';

/** A helper that tsx/esbuild injects into function bodies (see function-ref.ts). */
const __name = <T>(target: T, value: string): T => {
  try {
    Object.defineProperty(target, 'name', { value, configurable: true });
  } catch {
    // Some targets have a fixed name; the helper must never throw.
  }
  return target;
};

const APP_BRAND = Symbol.for('parsl-ts.App');

let typescript: Promise<void> | undefined;

/** Lets this thread import `.ts` modules (apps exported from TypeScript files), once. */
function registerTypeScript(): Promise<void> {
  return (typescript ??= import('tsx/esm/api').then((tsx) => {
    tsx.register();
  }));
}

let importHooks: Promise<void> | undefined;

/**
 * Lets this thread import a specifier as another module would (`import.meta.resolve` takes no
 * parent module without a flag in Node 20): after tsx, so that these hooks see a specifier
 * first and tsx resolves it (`./lib.js` for `./lib.ts`, extensionless paths) from that module.
 */
function registerImportHooks(): Promise<void> {
  return (importHooks ??= registerTypeScript().then(() => {
    register(moduleHooksUrl({ parslTsIndex: entryUrl('index').href }));
  }));
}

/** Imports what an inline app's module imported, and returns each binding's value by its local name. */
async function importBindings(imports: SourceImports): Promise<Map<string, unknown>> {
  const modules = new Map<string, Promise<Record<string, unknown>>>();
  const load = (specifier: string): Promise<Record<string, unknown>> => {
    let loading = modules.get(specifier);
    if (!loading) {
      loading = isBuiltin(specifier)
        ? import(specifier)
        : registerImportHooks().then(() => import(importFromSpecifier(specifier, imports.from)));
      modules.set(specifier, loading);
    }
    return loading;
  };
  const values = new Map<string, unknown>();
  for (const { local, specifier, imported } of imports.bindings) {
    let mod: Record<string, unknown>;
    try {
      mod = await load(specifier);
    } catch (error) {
      throw new Error(`cannot import '${specifier}' (for '${local}') as ${imports.from} does: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (imported !== '*' && !(imported in mod)) {
      throw new SyntaxError(`the module '${specifier}' imported by ${imports.from} has no export named '${imported}'`);
    }
    values.set(local, imported === '*' ? mod : mod[imported]);
  }
  return values;
}

/** Rebuilds an app's function in this thread. */
export async function loadFunction(ref: FunctionRef): Promise<Function> {
  if (ref.kind === 'source') {
    const bound = ref.imports ? await importBindings(ref.imports) : new Map<string, unknown>();
    const factory = new Function('__name', ...bound.keys(), `"use strict"; return (${ref.source});`);
    return factory(__name, ...bound.values()) as Function;
  }
  if (/\.[mc]?tsx?$/.test(new URL(ref.module, 'file:///').pathname)) await registerTypeScript();
  const mod = (await import(ref.module)) as Record<string, unknown>;
  const exported = mod[ref.exportName];
  const fn = (exported as Record<symbol, { fn: Function } | undefined> | undefined)?.[APP_BRAND]?.fn ?? exported;
  if (typeof fn !== 'function') {
    throw new TypeError(`module ${ref.module} has no app or function exported as '${ref.exportName}'`);
  }
  return fn as Function;
}

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as zod from 'zod';
import { FROM_SOURCES, packageFile } from './package-files.ts';
import type * as ZodSubset from './zod-subset.ts';

/**
 * zod, loaded on first use rather than at `import 'parsl-ts'`.
 *
 * Why: loading zod's ~95 modules took ~45 ms of CPU (bare node starts in ~60 ms) and building
 * ~60 option schemas at module scope ~15 ms more, paid by every script whether or not it ever
 * constructs, say, a SlurmProvider. Source files import `z` from here instead of from 'zod' and
 * wrap each module-scope schema in `lazySchema(() => z.object(…))`: the schema (and zod itself)
 * is built when something first validates with it. `require` keeps that first use synchronous,
 * as option validation in constructors must be; every schema in the package comes through here,
 * so they all share one copy of zod: its CommonJS build from the sources, and in the built
 * package the subset of it that zod-subset.ts names, bundled into one file (~7 ms to load where
 * zod's own build took ~45–50 ms).
 */
let loaded: typeof ZodSubset | undefined;

function real(): typeof ZodSubset {
  const require = createRequire(import.meta.url);
  loaded ??= FROM_SOURCES
    ? (require('zod') as typeof zod).z
    : (require(fileURLToPath(packageFile('dist/common/zod-subset.cjs'))) as typeof ZodSubset);
  return loaded;
}

/** zod's `z`, loaded on the first property read (`z.object`, `z.string`, …). */
export const z = new Proxy({} as typeof ZodSubset, {
  get: (_target, key) => Reflect.get(real(), key) as unknown,
  has: (_target, key) => Reflect.has(real(), key),
});

// The types that source files name as `z.input<…>` etc.; a namespace of types only merges with
// the `z` value above and costs nothing at run time.
export declare namespace z {
  export type input<T> = zod.z.input<T>;
  export type output<T> = zod.z.output<T>;
  export type infer<T> = zod.z.infer<T>;
  export type ZodType<Output = unknown, Input = unknown> = zod.z.ZodType<Output, Input>;
  export type ZodRawShape = zod.z.ZodRawShape;
  export type RefinementCtx<T = unknown> = zod.z.RefinementCtx<T>;
}

/**
 * A schema built on first use. The returned object stands for the schema everywhere (parse
 * with it, nest it in another schema, chain `.refine` on it inside another `lazySchema`): each
 * property read is forwarded to the schema, which `build` makes the first time.
 */
export function lazySchema<S extends object>(build: () => S): S {
  let schema: S | undefined;
  const get = (): S => (schema ??= build());
  return new Proxy({} as S, {
    get: (_target, key) => Reflect.get(get(), key) as unknown,
    has: (_target, key) => Reflect.has(get(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(get()),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(get(), key);
      // A proxy may not report a non-configurable property its (empty) target lacks.
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}

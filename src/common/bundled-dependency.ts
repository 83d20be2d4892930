/**
 * npm dependencies that the built package carries bundled (dist/vendor/<name>.cjs, made by
 * scripts/build.mjs), for the ones required synchronously on first use on the way to a first
 * result: a package of many small files costs more to resolve and read than the same code in one
 * file (acorn and eslint-scope, the closure analyser of the first inline app: ~35% less to load).
 * From the TypeScript sources they are required from node_modules as usual.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FROM_SOURCES, packageFile } from './package-files.ts';

/** The dependencies bundled into dist/vendor/ (scripts/build.mjs reads this list). */
export const BUNDLED_DEPENDENCIES = ['acorn', 'eslint-scope'] as const;

/** Requires `name`: its bundle in the built package, the package itself from the sources. */
export function requireBundled(name: (typeof BUNDLED_DEPENDENCIES)[number]): unknown {
  const require = createRequire(import.meta.url);
  return FROM_SOURCES ? require(name) : require(fileURLToPath(packageFile(`dist/vendor/${name}.cjs`)));
}

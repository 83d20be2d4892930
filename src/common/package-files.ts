/**
 * Where this package's own files are: the entry points it starts as worker threads or
 * processes, its `index` module, its package.json, its bin and the dashboard's pages.
 *
 * No code here may locate a file relative to its own `import.meta.url`: the built package is
 * an esbuild bundle (scripts/build.mjs), where a module's code lands in a shared chunk
 * (`dist/chunks/…`) or inside another entry's bundle, not at `dist/<folder>/<name>.js`. The
 * package's root is found instead, from wherever this code was put, as the first directory
 * up with a package.json (neither `src/` nor `dist/` has one); each entry then sits at the
 * same path under it as before bundling: `src/<entry>.ts` when running from the TypeScript
 * sources (tests, a fresh clone), `dist/<entry>.js` when built.
 */
import { existsSync } from 'node:fs';

/** True when this code runs from the TypeScript sources (through tsx), not from `dist/`. */
export const FROM_SOURCES: boolean = import.meta.url.endsWith('.ts');

/** The modules the runtime starts or imports by path, as `<folder>/<name>` under `src/` or `dist/`. */
export type PackageEntry =
  | 'index'
  | 'worker/main'
  | 'cli/block'
  | 'dataflow/checkpoint-writer-thread'
  | 'monitoring/writer-thread';

let root: URL | undefined;

/** The package's root directory (with a trailing slash), found once. */
export function packageRoot(): URL {
  if (root) return root;
  let dir = new URL('.', import.meta.url);
  while (!existsSync(new URL('package.json', dir))) {
    const parent = new URL('..', dir);
    if (parent.href === dir.href) throw new Error(`parsl-ts: no package.json above ${import.meta.url}`);
    dir = parent;
  }
  return (root = dir);
}

/** A file of the package by its path from the package's root (`bin/parsl-ts.js`, `package.json`). */
export function packageFile(path: string): URL {
  return new URL(path, packageRoot());
}

/** The URL of one of the package's entry modules, as this copy runs: `.ts` source or built `.js`. */
export function entryUrl(entry: PackageEntry): URL {
  return packageFile(FROM_SOURCES ? `src/${entry}.ts` : `dist/${entry}.js`);
}

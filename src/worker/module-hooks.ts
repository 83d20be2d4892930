/**
 * Module customization hooks (`module.register`) that `parsl-ts run` registers in the script's
 * thread and a worker registers before it imports what an inline app's module imported. The
 * hooks run in Node's loader thread, so they are sent as the source of a `data:` module.
 */

/** Prefix of the specifier a worker imports to resolve `specifier` as the module `parent` would. */
export const IMPORT_FROM_PREFIX = 'parsl-ts-import-from:';

/** The specifier that, once the hooks are registered, imports `specifier` as `parentUrl` would. */
export function importFromSpecifier(specifier: string, parentUrl: string): string {
  return IMPORT_FROM_PREFIX + encodeURIComponent(JSON.stringify({ specifier, parent: parentUrl }));
}

export interface ModuleHookOptions {
  /** URL of this copy of parsl-ts's index module: `import 'parsl-ts'` gets it where no other is found. */
  parslTsIndex: string;
  /** URL of the script `parsl-ts run` runs: always an ES module (unless `.cjs`/`.cts`). */
  esmEntry?: string | undefined;
}

/**
 * The `data:` URL of the hooks. Besides the entry, a local file (not under node_modules) with
 * `import`/`export` statements that an ES module imports loads as an ES module too, whatever
 * the nearest package.json says: tsx compiles `.ts` files of a `type: commonjs` project (what
 * `npm init` writes) or of a folder with no package.json to CommonJS, where top-level await is
 * refused and a default import gets the whole `module.exports`.
 */
export function moduleHooksUrl(options: ModuleHookOptions): string {
  const esmEntry = options.esmEntry !== undefined && !/\.c[jt]s$/.test(options.esmEntry) ? options.esmEntry : '';
  const hooks = `import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const PREFIX = ${JSON.stringify(IMPORT_FROM_PREFIX)};
const ESM_ENTRY = ${JSON.stringify(esmEntry)};
const PARSL_TS_INDEX = ${JSON.stringify(options.parslTsIndex)};
const ESM_SYNTAX = /^[ \\t]*(?:import[ \\t]*(?:[*{'"]|[\\w$]+[ \\t]*(?:,|from\\b))|export[ \\t]+[\\w$*{])/m;
const esModules = new Set();
function loadsAsEsm(url, parentURL) {
  if (url === ESM_ENTRY) return true;
  if (!esModules.has(parentURL) || !url.startsWith('file:') || url.includes('/node_modules/')) return false;
  if (!/\\.[jt]sx?$/.test(new URL(url).pathname)) return false;
  try {
    return ESM_SYNTAX.test(readFileSync(fileURLToPath(url), 'utf8'));
  } catch {
    return false;
  }
}
export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith(PREFIX)) {
    const { specifier: wanted, parent } = JSON.parse(decodeURIComponent(specifier.slice(PREFIX.length)));
    esModules.add(parent);
    return resolve(wanted, { ...context, parentURL: parent }, nextResolve);
  }
  let resolved;
  try {
    resolved = await nextResolve(specifier, context);
  } catch (error) {
    if (specifier !== 'parsl-ts' || error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return nextResolve(PARSL_TS_INDEX, context);
  }
  if (resolved.format === 'module') {
    esModules.add(resolved.url);
    return resolved;
  }
  // tsx marks the CommonJS files it compiles with a query (encoded into the path, too).
  const url = resolved.url.split('?')[0].replace(/%3Ftsx-[^/]*$/, '');
  if (resolved.format !== 'builtin' && loadsAsEsm(url, context.parentURL)) {
    esModules.add(url);
    return { url, format: 'module' };
  }
  return resolved;
}
`;
  return `data:text/javascript,${encodeURIComponent(hooks)}`;
}

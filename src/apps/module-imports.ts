/**
 * What a module binds by its static imports, so that an inline app that reads an imported
 * name can take the same import with it to a worker (`import { hostname } from 'node:os'` at
 * the top of a script, used inside an app). Parsl pickles a function's globals by reference
 * for the same reason: a module-level import is the common thing an app reads.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Acorn from 'acorn';
import type { SourceImport } from '../wire/protocol.ts';
import { requireBundled } from '../common/bundled-dependency.ts';

/** Name bound in the module → the import that binds it. */
export type ImportTable = ReadonlyMap<string, SourceImport>;

const EMPTY: ImportTable = new Map();
const tables = new Map<string, ImportTable>();

/**
 * The URL of the module whose code called `callee` (the file that called `app()`), or
 * undefined when it has none (`node -e`, a REPL, stdin) or is not a file.
 */
export function callerModuleUrl(callee: Function): string | undefined {
  const holder: { stack?: NodeJS.CallSite[] } = {};
  const previous = Error.prepareStackTrace;
  const previousLimit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_error, frames) => frames;
    Error.captureStackTrace(holder, callee);
    const file = holder.stack?.[0]?.getFileName();
    if (!file) return undefined;
    if (file.startsWith('file:')) return file.split('?')[0];
    if (file.startsWith('/')) return pathToFileURL(file).href;
    return undefined;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = previous;
    Error.stackTraceLimit = previousLimit;
  }
}

/**
 * The static imports of the module at `moduleUrl`, parsed once per module. A module that
 * cannot be read or parsed has none: its inline apps are then refused as before if they read
 * an imported name.
 */
export function staticImportsOf(moduleUrl: string | undefined): ImportTable {
  if (moduleUrl === undefined) return EMPTY;
  let table = tables.get(moduleUrl);
  if (!table) {
    try {
      table = parseImports(readFileSync(fileURLToPath(moduleUrl), 'utf8'), moduleUrl);
    } catch {
      table = EMPTY;
    }
    tables.set(moduleUrl, table);
  }
  return table;
}

const texts = new Map<string, string>();

/**
 * False when the module's text has no import statement that names `name` (a cheap test on
 * the text, which keeps a global such as `Math` from costing a parse of the module).
 */
export function mayImport(moduleUrl: string | undefined, name: string): boolean {
  if (moduleUrl === undefined) return false;
  let text = texts.get(moduleUrl);
  if (text === undefined) {
    try {
      text = readFileSync(fileURLToPath(moduleUrl), 'utf8');
    } catch {
      text = '';
    }
    texts.set(moduleUrl, text);
  }
  return new RegExp(`\\bimport\\b[^;]*?[\\s{,*]${name.replace(/\$/g, '\\$')}\\b`).test(text);
}

function parseImports(source: string, moduleUrl: string): ImportTable {
  const typescript = /\.[mc]?tsx?$/.exec(new URL(moduleUrl).pathname)?.[0];
  const js = typescript ? stripTypes(source, typescript.endsWith('x') ? 'tsx' : 'ts') : source;
  // Loaded when first needed: `import 'parsl-ts'` does not pay for the parser.
  const acorn = requireBundled('acorn') as typeof Acorn;
  const program = acorn.parse(js, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true });
  const table = new Map<string, SourceImport>();
  for (const node of program.body) {
    if (node.type !== 'ImportDeclaration') continue;
    const specifier = String(node.source.value);
    for (const binding of node.specifiers) {
      const imported =
        binding.type === 'ImportNamespaceSpecifier'
          ? '*'
          : binding.type === 'ImportDefaultSpecifier'
            ? 'default'
            : binding.imported.type === 'Identifier'
              ? binding.imported.name
              : String(binding.imported.value);
      table.set(binding.local.name, { local: binding.local.name, specifier, imported });
    }
  }
  return table;
}

interface Esbuild {
  transformSync(code: string, options: { loader: 'ts' | 'tsx'; format: 'esm'; target: string }): { code: string };
}

let esbuild: Esbuild | undefined;

/**
 * TypeScript to JavaScript with esbuild, the compiler tsx (our TypeScript loader) runs on:
 * found through tsx, which depends on it. Type-only imports go; imports used as values stay.
 */
function stripTypes(source: string, loader: 'ts' | 'tsx'): string {
  esbuild ??= createRequire(import.meta.resolve('tsx/esm/api'))('esbuild') as Esbuild;
  return esbuild.transformSync(source, { loader, format: 'esm', target: 'esnext' }).code;
}

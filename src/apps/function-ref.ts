import type { FunctionRef, SourceImport } from '../wire/protocol.ts';
import { mayImport, staticImportsOf } from './module-imports.ts';
import type * as Acorn from 'acorn';
import type * as EslintScope from 'eslint-scope';
import { FunctionSerializationError } from '../common/errors.ts';
import { requireBundled } from '../common/bundled-dependency.ts';

/**
 * Helpers that loaders inject into function bodies. tsx (esbuild with `keepNames`) rewrites
 * `function inner(){}` into `function inner(){} __name(inner, "inner")`; the worker provides
 * these, so they are not captured state.
 */
export const INJECTED_HELPERS = ['__name'] as const;

// The closure analyser (~45 ms to load) is loaded by the first inline app, not by `import 'parsl-ts'`.
let analyser: { acorn: typeof Acorn; analyze: typeof EslintScope.analyze } | undefined;
function closureAnalyser(): NonNullable<typeof analyser> {
  return (analyser ??= {
    acorn: requireBundled('acorn') as typeof Acorn,
    analyze: (requireBundled('eslint-scope') as typeof EslintScope).analyze,
  });
}

const knownGlobals = new Set<string>([
  ...Object.getOwnPropertyNames(globalThis),
  ...INJECTED_HELPERS,
  'arguments',
  'undefined',
  'globalThis',
]);

/**
 * Turns `fn.toString()` into an expression that evaluates to the function. Method
 * shorthand (`foo(x) {…}` from an object literal) becomes a function expression.
 */
export function functionExpression(fn: Function): string {
  const text = Function.prototype.toString.call(fn);
  if (/^class[\s{]/.test(text)) {
    throw new FunctionSerializationError(`${describe(fn)} is a class, not a function: wrap the work in a function.`);
  }
  if (/\{\s*\[native code\]\s*\}$/.test(text)) {
    throw new FunctionSerializationError(
      `${describe(fn)} has no source to send to a worker (a native or bound function). ` +
        'Wrap it in an arrow function, or export the app from a module and pass { module: import.meta.url }.',
    );
  }
  if (/^(async\s+)?(function\b|\(|[\w$]+\s*=>)/.test(text) || /^async\s*\(/.test(text)) return text;
  // Method shorthand from an object literal: `name(…) {`, `async name(…) {`, `*name(…) {`.
  const prefix = /^(async\s+)?(\*\s*)?(?=[\w$]+\s*\()/.exec(text);
  if (prefix) {
    return `${prefix[1] ? 'async ' : ''}function${prefix[2] ? '*' : ''} ${text.slice(prefix[0].length)}`;
  }
  throw new FunctionSerializationError(`${describe(fn)} cannot be rebuilt from its source: ${text.slice(0, 80)}`);
}

/** Names a function reads from outside itself: captured variables, imports and globals alike. */
export function freeVariables(expression: string): string[] {
  const { acorn, analyze } = closureAnalyser();
  let ast: Acorn.Node;
  try {
    ast = acorn.parse(`(${expression})`, { ecmaVersion: 'latest', sourceType: 'module', ranges: true });
  } catch (error) {
    throw new FunctionSerializationError(`cannot parse the function's source: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const scopes = analyze(ast as never, { ecmaVersion: 2022, sourceType: 'module' });
  return [...new Set((scopes.globalScope?.through ?? []).map((reference) => reference.identifier.name))];
}

/**
 * Builds the by-source reference of an inline function made in the module at `moduleUrl`.
 * Names the module binds by a static import travel as imports (even one that shadows a
 * global, such as `setTimeout` from 'node:timers/promises'); any other captured variable is
 * refused, naming it and the fix.
 */
export function sourceRef(fn: Function, appName: string, moduleUrl?: string): FunctionRef {
  const source = functionExpression(fn);
  const free = freeVariables(source);
  // Parsing the module's imports costs a TypeScript compile for a .ts module: only when needed.
  const needed = free.some((name) => !knownGlobals.has(name) || mayImport(moduleUrl, name));
  const imports = needed ? staticImportsOf(moduleUrl) : new Map<string, SourceImport>();
  const captured = free.filter((name) => imports.has(name) || !knownGlobals.has(name));
  const bindings = captured.flatMap((name) => imports.get(name) ?? []);
  const refused = captured.filter((name) => !imports.has(name));
  if (refused.length > 0) {
    const list = refused.map((n) => `'${n}'`).join(', ');
    throw new FunctionSerializationError(
      `app '${appName}' reads ${refused.length === 1 ? 'the variable' : 'the variables'} ${list} from the ` +
        'surrounding script. Inline apps are sent to workers by their source, with the static imports of ' +
        `their module that they use, and nothing else: pass ${list} as ${refused.length === 1 ? 'an argument' : 'arguments'}, ` +
        "import what you need at the top of the module or inside the function with `await import('…')`, or " +
        'export the app from a module and create it with { module: import.meta.url } so that workers ' +
        'import the module instead.' +
        (moduleUrl === undefined ? ' (The app was made by code with no file, such as node -e or stdin: its imports cannot be read.)' : ''),
    );
  }
  if (bindings.length === 0 || moduleUrl === undefined) return { kind: 'source', name: appName, source };
  return { kind: 'source', name: appName, source, imports: { from: moduleUrl, bindings } };
}

function describe(fn: Function): string {
  return fn.name ? `function '${fn.name}'` : 'the anonymous function';
}

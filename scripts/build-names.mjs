/**
 * After esbuild: drops the `__name(fn, "x")` wrappers that `keepNames` puts around functions
 * which JavaScript names `x` by itself. The build keeps names because some are behaviour (error
 * classes rebuilt by name across threads, apps named after their functions) and bundling may
 * rename a clashing declaration. But keepNames also wraps every closure assigned to a variable
 * or an object key, in our code and in the bundled NATS clients, and that wrapper is an
 * `Object.defineProperty` each time the closure is made: 0.35-1 µs, several times per task
 * (per-task closures in the DFK, the worker, nats-core's `timeout()` in the block manager).
 *
 * Where the wrapped function is anonymous and bound to a variable or object key of the same
 * name, the language's own naming (NamedEvaluation) gives it that name: the wrapper changes
 * nothing but the cost, and is blanked out. Only whitespace replaces it, so that line and
 * column positions, and with them the source maps, stay as they were.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as acorn from 'acorn';

/** The code with redundant `__name` wrappers blanked; the number blanked. */
export function dropRedundantNames(code) {
  if (!code.includes('__name(')) return { code, dropped: 0 };
  const ast = parse(code);
  const blanks = [];
  visit(ast, (node) => {
    const bound = boundName(node);
    const init = bound?.value;
    if (!isNameCall(init) || init.arguments[1].value !== bound.name) return;
    const fn = init.arguments[0];
    blanks.push([init.start, fn.start], [fn.end, init.end]);
  });
  if (blanks.length === 0) return { code, dropped: 0 };
  const chars = code.split('');
  for (const [from, to] of blanks) for (let i = from; i < to; i++) if (chars[i] !== '\n' && chars[i] !== '\r') chars[i] = ' ';
  return { code: chars.join(''), dropped: blanks.length / 2 };
}

/** An ES module; a CommonJS file that is not strict-mode code is read as a script. */
function parse(code) {
  const options = { ecmaVersion: 'latest', allowHashBang: true, allowReturnOutsideFunction: true };
  try {
    return acorn.parse(code, { ...options, sourceType: 'module' });
  } catch {
    return acorn.parse(code, { ...options, sourceType: 'script' });
  }
}

/** `name` and the value bound to it, where the language names an anonymous function after its binding. */
function boundName(node) {
  if (node.type === 'VariableDeclarator' && node.id.type === 'Identifier' && node.init) return { name: node.id.name, value: node.init };
  if (node.type === 'AssignmentExpression' && node.operator === '=' && node.left.type === 'Identifier') return { name: node.left.name, value: node.right };
  if (node.type === 'Property' && node.kind === 'init' && !node.computed && !node.method && !node.shorthand) {
    const key = node.key.type === 'Identifier' ? node.key.name : typeof node.key.value === 'string' ? node.key.value : undefined;
    if (key !== undefined) return { name: key, value: node.value };
  }
  return undefined;
}

/** `__name(<anonymous function or arrow>, "literal")`. */
function isNameCall(node) {
  if (node?.type !== 'CallExpression' || node.callee.type !== 'Identifier' || node.callee.name !== '__name') return false;
  const [fn, name] = node.arguments;
  if (node.arguments.length !== 2 || name.type !== 'Literal' || typeof name.value !== 'string') return false;
  return fn.type === 'ArrowFunctionExpression' || (fn.type === 'FunctionExpression' && fn.id === null);
}

function visit(node, each) {
  each(node);
  for (const key in node) {
    const value = node[key];
    if (Array.isArray(value)) {
      for (const item of value) if (item && typeof item.type === 'string') visit(item, each);
    } else if (value && typeof value.type === 'string' && key !== 'loc') {
      visit(value, each);
    }
  }
}

/** Applies `dropRedundantNames` to every .js, .mjs and .cjs file under `dir`; returns the number dropped. */
export function dropRedundantNamesIn(dir) {
  let dropped = 0;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      dropped += dropRedundantNamesIn(path);
    } else if (/\.(c|m)?js$/.test(entry)) {
      const result = dropRedundantNames(readFileSync(path, 'utf8'));
      if (result.dropped > 0) writeFileSync(path, result.code);
      dropped += result.dropped;
    }
  }
  return dropped;
}

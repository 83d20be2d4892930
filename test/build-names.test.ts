/**
 * scripts/build-names.mjs: the build blanks keepNames' `__name` wrappers only where the
 * language gives the function the same name, with whitespace, so positions (and source maps)
 * stay put. Checked on esbuild's own output, run before and after.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as esbuild from 'esbuild';
import { dropRedundantNames } from '../scripts/build-names.mjs';

/** esbuild with keepNames, as scripts/build.mjs runs it (a top-level clash renames `helper`). */
function build(source: string): string {
  return esbuild.transformSync(source, { keepNames: true, format: 'esm', target: 'node20' }).code;
}

/** The names the code reports, as `name=value` lines, run as a function body. */
function namesOf(code: string): string {
  const lines: string[] = [];
  new Function('report', code.replace(/^export .*$/gm, ''))((line: string) => lines.push(line));
  return lines.join('\n');
}

const source = `
function outer() {
  const local = () => 1;
  const asyncLocal = async () => 2;
  const plain = function () { return 3; };
  const named = function inner() { return 4; };
  let assigned;
  assigned = () => 5;
  const object = { key: () => 6, 'quoted': () => 7, method() { return 8; } };
  const holder = {};
  holder.member = () => 9;
  const klass = class {};
  return { local, asyncLocal, plain, named, assigned, key: object.key, quoted: object.quoted, method: object.method, member: holder.member, klass };
}
for (const [key, fn] of Object.entries(outer())) report(key + '=' + fn.name);
`;

test('build names - wrappers of closures named like their binding are blanked; names stay the same', () => {
  const built = build(source);
  assert.ok(built.includes('__name('), 'esbuild wrapped closures');
  const { code, dropped } = dropRedundantNames(built);
  // local, asyncLocal, plain, assigned, key, quoted.
  assert.is(dropped, 6);
  assert.is(code.length, built.length);
  assert.is(code.split('\n').length, built.split('\n').length);
  assert.is(namesOf(code), namesOf(built));
  assert.match(namesOf(code), 'local=local\nasyncLocal=asyncLocal\nplain=plain\nnamed=inner\nassigned=assigned\nkey=key\nquoted=quoted\nmethod=method\nmember=\nklass=klass');
});

test('build names - a wrapper whose name differs from the binding (a renamed clash) is kept', () => {
  const code = 'const helper2 = /* @__PURE__ */ __name(() => 1, "helper");\nconst same = /* @__PURE__ */ __name(() => 2, "same");';
  const result = dropRedundantNames(code);
  assert.is(result.dropped, 1);
  assert.ok(result.code.includes('__name(() => 1, "helper")'));
  assert.not.ok(result.code.includes('"same"'));
});

test('build names - code without wrappers is returned as it was', () => {
  const code = 'export const x = () => 1;';
  assert.equal(dropRedundantNames(code), { code, dropped: 0 });
});

test.run();

#!/usr/bin/env node
// The documentation checks `npm run lint` runs (issue 13), each failing with what to fix:
//  1. every relative link of README.md and docs/ points at a file that exists (and, for a
//     Markdown heading anchor, at a heading that exists);
//  2. every code block marked ```ts example type-checks against the sources;
//  3. every public export of src/index.ts has TSDoc with an @example (TypeDoc's own
//     `validation.notDocumented`, as errors, plus the @example rule), and every optional
//     property of a public `…Options` type says its @default;
//  4. every exported error class has an entry in docs/troubleshooting.md.
// `--no-typedoc` skips 3 and 4 (they take ~10 s of CPU), for a quick look while writing docs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { allExamples, exampleFileName, markdownFiles } from './docs-examples.mjs';

const repo = new URL('..', import.meta.url).pathname;
// `--root DIR` checks the README.md and docs/ of another directory (test/check-docs.test.ts); the
// examples still type-check against this repository's sources.
const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? `${process.argv[rootArg + 1].replace(/\/+$/, '')}/` : repo;
const require = createRequire(import.meta.url);
const problems = [];

// 1. Links.
/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const slug = (heading) =>
  heading.trim().toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
const anchorsOf = new Map();
function anchors(file) {
  if (!anchorsOf.has(file)) {
    const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
    const seen = new Map();
    const list = new Set();
    for (const match of text.matchAll(/^#{1,6}\s+(.+)$/gm)) {
      const base = slug(match[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      list.add(n === 0 ? base : `${base}-${n}`);
    }
    anchorsOf.set(file, list);
  }
  return anchorsOf.get(file);
}
for (const file of markdownFiles(root)) {
  const text = readFileSync(join(root, file), 'utf8').replace(/^```[\s\S]*?^```/gm, (block) => block.replace(/[^\n]/g, ' '));
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    for (const match of line.replace(/`[^`]*`/g, '').matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [path, anchor] = target.split('#');
      const resolved = path === '' ? join(root, file) : normalize(join(root, dirname(file), decodeURIComponent(path)));
      const where = `${file}:${i + 1}`;
      if (!existsSync(resolved)) {
        problems.push(`${where}: broken link ${target} (no file ${resolved.slice(root.length)})`);
      } else if (anchor && resolved.endsWith('.md') && statSync(resolved).isFile() && !anchors(resolved).has(anchor)) {
        problems.push(`${where}: broken link ${target} (no heading #${anchor} in ${resolved.slice(root.length)})`);
      }
    }
  });
}

// 2. Examples type-check.
const dir = join(root, '.tmp', 'docs-examples');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
// ES modules, as a user's scripts in a `"type": "module"` package (top-level await).
writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
const examples = allExamples(root);
const byName = new Map();
for (const example of examples) {
  const name = exampleFileName(example);
  byName.set(name, example);
  // `export {}` makes a block without imports a module too (top-level await, its own scope).
  writeFileSync(join(dir, name), `${example.code}\nexport {};\n`);
}
writeFileSync(
  join(dir, 'tsconfig.json'),
  JSON.stringify({
    extends: join(repo, 'test', 'tsconfig.json'),
    // typeRoots: the examples' directory may be outside the repository (`--root`).
    compilerOptions: { noEmit: true, rootDir: '/', noUnusedLocals: false, noUnusedParameters: false, typeRoots: [join(repo, 'node_modules', '@types')] },
    include: ['./*.ts'],
  }),
);
if (examples.length > 0) {
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { encoding: 'utf8' });
  if (result.status !== 0) {
    // Point each error at the Markdown line it came from.
    for (const line of `${result.stdout}${result.stderr}`.split('\n').filter(Boolean)) {
      const m = /docs-examples\/([^()]+)\((\d+),(\d+)\): (.*)$/.exec(line);
      const example = m && byName.get(m[1]);
      problems.push(example ? `${example.file}:${example.line + Number(m[2])}: example does not type-check: ${m[4]}` : line);
    }
  }
}

// 3. The API reference.
if (!process.argv.includes('--no-typedoc')) {
  const { Application, ReflectionKind, TSConfigReader, TypeDocReader } = await import('typedoc');
  // TypeDoc reads typedoc.json and tsconfig.json from the working directory: the repository's.
  process.chdir(repo);
  const app = await Application.bootstrapWithPlugins(
    { treatWarningsAsErrors: true, logLevel: 'Warn' },
    [new TypeDocReader(), new TSConfigReader()],
  );
  const project = await app.convert();
  if (!project) problems.push('typedoc: the project did not convert (see the errors above)');
  else {
    app.validate(project);
    if (app.logger.hasErrors() || app.logger.hasWarnings()) problems.push('typedoc: validation failed (see the warnings above: each names an export to document)');
    // A function keeps its TSDoc on its signature; `comment` may be a re-export statement's.
    const commentOf = (r) => r.signatures?.[0]?.comment ?? r.comment ?? r.getSignature?.comment;
    for (const reflection of project.children ?? []) {
      const comment = commentOf(reflection);
      const where = `${reflection.name} (${reflection.sources?.[0]?.fileName ?? '?'})`;
      if (!comment) {
        problems.push(`${where}: no TSDoc comment`);
        continue;
      }
      if (!comment.blockTags.some((tag) => tag.tag === '@example')) problems.push(`${where}: no @example in its TSDoc`);
      if (/Options$/.test(reflection.name) && !reflection.name.startsWith('Resolved')) {
        const properties = reflection.children ?? reflection.type?.declaration?.children ?? [];
        for (const property of properties) {
          if (!property.flags.isOptional) continue;
          const own = property.comment ?? property.getSignature?.comment;
          if (!own?.blockTags.some((tag) => tag.tag === '@default')) problems.push(`${reflection.name}.${property.name} (${property.sources?.[0]?.fileName ?? '?'}): optional, with no @default`);
        }
      }
    }
    // 4. Every exported error class has its entry (a `### Name` heading) in docs/troubleshooting.md.
    const isError = (r) =>
      r.kindOf(ReflectionKind.Class) &&
      (r.extendedTypes ?? []).some((t) => t.name === 'Error' || (t.reflection ? isError(t.reflection) : false));
    const troubleshooting = anchors(join(root, 'docs', 'troubleshooting.md'));
    for (const reflection of project.children ?? []) {
      if (isError(reflection) && !troubleshooting.has(slug(reflection.name))) {
        problems.push(`docs/troubleshooting.md: no entry (### ${reflection.name}) for the exported error class ${reflection.name}`);
      }
    }
  }
}

if (problems.length > 0) {
  process.stdout.write(`${problems.join('\n')}\ncheck-docs: ${problems.length} problem(s)\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`check-docs: ${examples.length} examples type-check, links resolve, every export documented\n`);
}

// The code blocks of README.md and docs/ that are marked as examples, so that they cannot rot:
// `npm run lint` (scripts/check-docs.mjs) type-checks every one, and test/docs-examples.test.ts
// runs the runnable ones on the thread executor.
//
//   ```ts example            type-checked, and run by the test
//   ```ts example no-run     type-checked only (it needs a cluster, a server or a site)
//
// An example imports from 'parsl-ts' as a user would; for the type check the name is mapped
// to src/index.ts by tsconfig paths, and for a run it is rewritten to that file's path (the
// package's own name would resolve to dist/, which a checkout has not built).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FENCE = /^```(\w+)([^\n]*)$/;

/** README.md and every Markdown file under docs/, as paths relative to `root`. */
export function markdownFiles(root) {
  const found = ['README.md'];
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) found.push(path);
    }
  };
  walk('docs');
  return found.sort();
}

/** The example blocks of one Markdown file: where each starts, its code, and whether it runs. */
export function examplesIn(root, file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const examples = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const words = open[2].trim().split(/\s+/);
    let end = i + 1;
    while (end < lines.length && !lines[end].startsWith('```')) end++;
    if (['ts', 'typescript'].includes(open[1]) && words.includes('example')) {
      examples.push({
        file,
        line: i + 1,
        run: !words.includes('no-run'),
        code: lines.slice(i + 1, end).join('\n') + '\n',
      });
    }
    i = end;
  }
  return examples;
}

/** Every example of README.md and docs/. */
export function allExamples(root) {
  return markdownFiles(root).flatMap((file) => examplesIn(root, file));
}

/** A file name for an example: `docs/apps.md` line 40 → `docs-apps-L40.ts`. */
export function exampleFileName(example) {
  return `${example.file.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-')}-L${example.line}.ts`;
}

/** The example's code with `from 'parsl-ts'` pointing at the sources, for running it. */
export function runnableSource(root, example) {
  const index = join(root, 'src', 'index.ts');
  return example.code.replace(/from\s+(['"])parsl-ts\1/g, `from '${index}'`);
}


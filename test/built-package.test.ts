/**
 * The package as users run it: the esbuild bundles of scripts/build.mjs, built into a temporary
 * package (its own package.json, bin and dist; src/ and node_modules linked), and used from
 * fresh processes: the import loads no heavy dependency, thread, bash and HTEX apps run, the
 * block manager runs as the built `.js`, and `parsl-ts run` runs a TypeScript script. The
 * bundles put a module's code in shared chunks, so these are what prove that every entry the
 * runtime starts by path (src/common/package-files.ts) is found from the build.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deadline, tempDir } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = tempDir();
const pkg = join(work.path, 'parsl-ts');
const index = pathToFileURL(join(pkg, 'dist/index.js')).href;

function run(args: string[], cwd = work.path): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd, timeout: 180_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

test.before(async () => {
  mkdirSync(pkg);
  await run([join(root, 'scripts/build.mjs'), '--js-only', '--outdir', join(pkg, 'dist')], root);
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  // Copied, not linked: bin/parsl-ts.js finds dist/ next to its own real path.
  cpSync(join(root, 'bin'), join(pkg, 'bin'), { recursive: true });
  symlinkSync(join(root, 'src'), join(pkg, 'src'));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
});

test.after(() => work.remove());

test('built package - importing it loads no npm dependency', async () => {
  const hooks = join(work.path, 'hooks.mjs');
  writeFileSync(hooks, `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes('/node_modules/')) console.log('LOADED ' + r.url); return r; }`);
  const script = join(work.path, 'import.mjs');
  writeFileSync(
    script,
    `import { register, createRequire } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooks).href)});
await import(${JSON.stringify(index)});
for (const key of Object.keys(createRequire(import.meta.url).cache)) if (key.includes('/node_modules/')) console.log('LOADED ' + key);
console.log('IMPORTED');`,
  );
  const out = await deadline(run([script]), 120_000);
  assert.match(out, /IMPORTED/);
  assert.equal(out.split('\n').filter((line) => line.startsWith('LOADED')), []);
});

test('built package - thread (with imports), bash and HTEX apps run; the block manager is the built .js', async () => {
  const script = join(work.path, 'apps.mjs');
  writeFileSync(
    script,
    `import * as P from ${JSON.stringify(index)};
import { basename } from 'node:path';
P.load(new P.Config({ runDir: ${JSON.stringify(join(work.path, 'runinfo'))}, strategy: 'none', executors: [
  new P.ThreadPoolExecutor({ label: 'threads', maxThreads: 1 }),
  new P.HighThroughputExecutor({ label: 'htex', maxWorkersPerNode: 1, provider: new P.LocalProvider({ initBlocks: 1, minBlocks: 1, maxBlocks: 1 }) }),
] }));
console.log('THREAD ' + (await P.app((x) => x * 2, { executors: ['threads'] })(21)));
// An inline app that takes one of the script's imports along (the closure analyser, bundled).
console.log('IMPORTS ' + (await P.app((p) => basename(p), { executors: ['threads'] })('/a/b.txt')));
console.log('BASH ' + (await P.bashApp(() => 'exit 3', { executors: ['threads'] })().catch((e) => e.exitCode)));
console.log('HTEX ' + (await P.app((x) => x + 1, { executors: ['htex'] })(41)));
await P.clear();`,
  );
  const out = await deadline(run([script]), 180_000);
  assert.match(out, /THREAD 42/);
  assert.match(out, /IMPORTS b.txt/);
  assert.match(out, /BASH 3/);
  assert.match(out, /HTEX 42/);
  const scripts = join(work.path, 'runinfo/000/submit_scripts');
  const texts = readdirSync(scripts).map((name) => readFileSync(join(scripts, name), 'utf8'));
  const command = texts.find((text) => text.includes('cli/block'));
  assert.ok(command?.includes(join(pkg, 'dist/cli/block.js')), `the block command runs the built entry:\n${command}`);
  assert.not.match(command!, /tsx/);
});

test('built package - parsl-ts run runs a TypeScript script against the built package', async () => {
  const script = join(work.path, 'script.ts');
  writeFileSync(
    script,
    `import { app, load } from ${JSON.stringify(index)};
load();
const double = app((x: number): number => x * 2);
console.log('RUN ' + (await double(21)));`,
  );
  const out = await deadline(run([join(pkg, 'bin/parsl-ts.js'), 'run', '--threads', '1', script]), 120_000);
  assert.match(out, /RUN 42/);
});

test.run();

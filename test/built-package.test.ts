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

test('built package - no function is named per task (esbuild keepNames wrappers of closures are dropped)', async () => {
  // Counts Object.defineProperty(fn, 'name', …) by name in every thread of every process (the
  // driver, its worker threads, the HTEX block manager and its threads): keepNames' __name does
  // that, 0.35-1 µs each, and a closure made per task paid it per task.
  const counts = join(work.path, 'name-counts');
  mkdirSync(counts);
  const preload = join(work.path, 'count-names.mjs');
  writeFileSync(
    preload,
    `import { threadId } from 'node:worker_threads';
import { renameSync, writeFileSync } from 'node:fs';
const counts = {};
const define = Object.defineProperty;
Object.defineProperty = function (target, key, descriptor) {
  if (key === 'name' && typeof target === 'function' && descriptor && 'value' in descriptor) counts[descriptor.value] = (counts[descriptor.value] ?? 0) + 1;
  return define.call(this, target, key, descriptor);
};
const file = ${JSON.stringify(counts)} + '/' + process.pid + '-' + threadId;
// Whole files only (written, then renamed): a process may still be ending while the test reads.
const save = () => { writeFileSync(file + '.tmp', JSON.stringify(counts)); renameSync(file + '.tmp', file + '.json'); };
setInterval(save, 100).unref();
process.on('exit', save);`,
  );
  const tasks = 400;
  const script = join(work.path, 'per-task.mjs');
  writeFileSync(
    script,
    `import * as P from ${JSON.stringify(index)};
P.load(new P.Config({ runDir: ${JSON.stringify(join(work.path, 'runinfo-names'))}, strategy: 'none', appCache: true, progress: false,
  monitoring: new P.MonitoringHub(), executors: [
  new P.ThreadPoolExecutor({ label: 'threads', maxThreads: 2 }),
  new P.HighThroughputExecutor({ label: 'htex', maxWorkersPerNode: 2, provider: new P.LocalProvider({ initBlocks: 1, minBlocks: 1, maxBlocks: 1 }) }),
] }));
const many = (call) => Promise.all(Array.from({ length: ${tasks} }, (_, i) => call(i)));
for (const executors of [['threads'], ['htex']]) {
  const noop = P.app((x) => x, { executors });
  const inc = P.app((x) => x + 1, { executors });
  await many(noop);
  let chain = inc(0);
  for (let i = 1; i < ${tasks}; i++) chain = inc(chain);
  await chain;
  await many(P.bashApp((x) => 'true ' + x, { executors }));
}
const cached = P.app((x) => x, { cache: true, executors: ['threads'] });
await many((i) => cached(i % 10));
const inner = P.app((x) => x, { executors: ['threads'] });
await many(P.joinApp((x) => inner(x)));
await P.clear();
console.log('DONE');`,
  );
  const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(preload).href}` };
  const out = await deadline(
    new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [script], { cwd: work.path, env, timeout: 180_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
      ),
    ),
    180_000,
  );
  assert.match(out, /DONE/);
  const files = readdirSync(counts).filter((name) => name.endsWith('.json'));
  // The driver, its two threads, the block manager and its two threads at least.
  assert.ok(files.length >= 6, `counts from ${files.length} threads: ${files.join(', ')}`);
  const perTask = files.flatMap((file) =>
    Object.entries(JSON.parse(readFileSync(join(counts, file), 'utf8')) as Record<string, number>)
      .filter(([, n]) => n >= tasks / 2)
      .map(([name, n]) => `${name} ×${n} (${file})`),
  );
  assert.equal(perTask, [], 'functions named about once per task');
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

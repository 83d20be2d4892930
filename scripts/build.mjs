#!/usr/bin/env node
// `npm run build`: the package as users install it. tsc writes the type declarations (dist/**/*.d.ts);
// esbuild writes the JavaScript, bundled, because reading and compiling ~110 separate modules was
// most of `import 'parsl-ts'` (140–150 ms of CPU with tsc's one file per module, ~100 ms bundled,
// bare node ~55 ms).
//
// Two bundles, both ES modules with the npm dependencies left as imports (external), so that what
// src/ loads lazily from node_modules (zod, nact, the NATS clients, ssh2…) stays lazy:
//
// - The driver: dist/index.js, dist/internal.js and dist/cli/main.js, with code splitting, so that
//   the three share one copy of each module (a script that `parsl-ts run` runs imports dist/index.js
//   and must meet the CLI's kernel) and what src/ imports dynamically (the HTEX manager, the CLI's
//   commands, the dashboard) stays a chunk of its own in dist/chunks/, loaded on first use.
// - Each entry that starts in a thread or process of its own, self-contained in one file: the worker
//   thread (dist/worker/main.js), the block manager (dist/cli/block.js), and the checkpoint and
//   monitoring writer threads. One file is what a starting thread reads: its start-up is on the way
//   to every first result.
// - zod's part that the package uses, with zod in it (src/common/zod-subset.ts), and the closure
//   analyser's dependencies (src/common/bundled-dependency.ts): required synchronously on first use.
//
// Every entry keeps the path it had under tsc, so the bin, the tests and the benchmarks find them; the
// code locates its entries through src/common/package-files.ts, never relative to its own module (a
// module's code lands in a chunk or in another entry's bundle).
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { dropRedundantNamesIn } from './build-names.mjs';

const root = new URL('..', import.meta.url).pathname;
// `--outdir DIR`: build there instead of dist/ (test/built-package.test.ts builds into a temporary package).
const outdirFlag = process.argv.indexOf('--outdir');
const dist = outdirFlag > 0 ? resolve(process.argv[outdirFlag + 1]) : join(root, 'dist');
const require = createRequire(import.meta.url);

/** The driver's entries (one bundle with shared chunks); bench/anchors.ts imports the bash helper's module. */
const DRIVER_ENTRIES = ['index', 'internal', 'cli/main', 'worker/bash-spawner'];
/** Entries started as threads or processes of their own (one self-contained file each); see src/common/package-files.ts. */
const THREAD_AND_PROCESS_ENTRIES = ['worker/main', 'cli/block', 'dataflow/checkpoint-writer-thread', 'monitoring/writer-thread'];

/** @type {import('esbuild').BuildOptions} */
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: `node${/^>=(\d+)/.exec(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node)[1]}`,
  packages: 'external',
  // Class and function names are part of behaviour here (error classes rebuilt by name across
  // threads, `fn.name` of apps): bundling must not rename them to resolve clashes between modules.
  keepNames: true,
  sourcemap: true,
  outbase: 'src',
  outdir: dist,
  logLevel: 'warning',
};

/**
 * The NATS clients (@nats-io/*, ~100 ESM files) bundled in rather than imported from node_modules:
 * loading them was the largest step on the way from a block's start to its first pull (55–120 ms
 * read and compiled file by file, 12–35 ms as part of a bundle), and most of loading the driver's
 * HTEX manager chunk, which comes before its first block is submitted. In the driver they land in
 * chunks of their own, loaded lazily as before. They are CommonJS: a dynamic `import()` of one that is
 * bundled gives only `default`, so src/ reads them through `cjsExports` (src/common/cjs-exports.ts).
 * Every other npm dependency stays external; the threads do not carry them (see below). nkeys' tweetnacl requires
 * `crypto` through CommonJS `require`, which an ES module bundle must be given (the banner).
 */
const natsBundled = {
  plugins: [
    {
      name: 'bundle-nats-only',
      setup(build) {
        build.onResolve({ filter: /^[^./]/ }, (args) => {
          if (args.path.startsWith('@nats-io/') || args.path.startsWith('node:')) return undefined;
          // Other bare specifiers: npm packages (external) or Node built-ins without the prefix.
          return { path: args.path, external: true };
        });
      },
    },
  ],
  packages: undefined,
  banner: { js: "import { createRequire as __parslTsCreateRequire } from 'node:module'; const require = __parslTsCreateRequire(import.meta.url);" },
};

/** The list in src/common/bundled-dependency.ts. */
function bundledDependencies() {
  const text = readFileSync(join(root, 'src/common/bundled-dependency.ts'), 'utf8');
  const list = /BUNDLED_DEPENDENCIES = \[([^\]]*)\]/.exec(text);
  if (!list) throw new Error('build: no BUNDLED_DEPENDENCIES list in src/common/bundled-dependency.ts');
  return [...list[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
}

function tscDeclarations() {
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin/tsc');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.json', '--emitDeclarationOnly', '--outDir', dist], { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tsc exited with ${code}`))));
  });
}

// `--js-only`: the bundles alone (a quick rebuild while measuring; keeps the declarations there are).
const jsOnly = process.argv.includes('--js-only');
// Stale .js files of an older layout (tsc's one per module) would be loaded by nothing, but shipped.
if (jsOnly) rmSync(join(dist, 'chunks'), { recursive: true, force: true });
else rmSync(dist, { recursive: true, force: true });
const entries = (names) => names.map((name) => join('src', `${name}.ts`));
await Promise.all([
  jsOnly ? undefined : tscDeclarations(),
  esbuild.build({ ...common, ...natsBundled, entryPoints: entries(DRIVER_ENTRIES), splitting: true, chunkNames: 'chunks/[name]-[hash]' }),
  esbuild.build({ ...common, ...natsBundled, entryPoints: entries(['cli/block']), splitting: false }),
  // The threads load the NATS clients, if ever, only for a task's `nats://` files: not bundled in,
  // so a starting thread does not read them.
  esbuild.build({ ...common, entryPoints: entries(THREAD_AND_PROCESS_ENTRIES.filter((name) => name !== 'cli/block')), splitting: false }),
  // zod itself bundled in, tree-shaken to what the package uses (see src/common/zod-subset.ts),
  // CommonJS because zod.ts requires it synchronously on first use.
  esbuild.build({
    ...common,
    entryPoints: entries(['common/zod-subset']),
    format: 'cjs',
    packages: undefined,
    outExtension: { '.js': '.cjs' },
    minifyWhitespace: true,
    minifySyntax: true,
    // zod names its classes itself; with keepNames, each schema it makes while parsing names
    // its methods (~30 `defineProperty` calls per object schema).
    keepNames: false,
  }),
  // Dependencies required synchronously on the way to a first result, each bundled into one file
  // (src/common/bundled-dependency.ts).
  ...bundledDependencies().map((name) =>
    esbuild.build({
      ...common,
      stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: root, sourcefile: `${name}.cjs` },
      outdir: undefined,
      outfile: join(dist, 'vendor', `${name}.cjs`),
      format: 'cjs',
      packages: undefined,
      sourcemap: false,
    }),
  ),
]);
dropRedundantNamesIn(dist);

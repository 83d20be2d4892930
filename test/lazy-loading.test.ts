/**
 * `import 'parsl-ts'` loads only what a thread-pool user needs: the SSH client, the NATS
 * clients and the closure analyser come with their first use. Checked in fresh processes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deadline, tempDir } from './helpers.ts';

const work = tempDir();
const index = new URL('../src/index.ts', import.meta.url).href;
const root = fileURLToPath(new URL('..', import.meta.url));

test.after(() => work.remove());

// Every module resolved through import, printed by a loader hook; require()d ones from the cache.
const HOOKS = `export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.includes('/node_modules/')) console.log('LOADED ' + result.url);
  return result;
}`;

function runScript(body: string): Promise<string> {
  const hooks = join(work.path, 'hooks.mjs');
  writeFileSync(hooks, HOOKS);
  const script = join(work.path, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    script,
    `import { register, createRequire } from 'node:module';
register(${JSON.stringify(new URL(`file://${hooks}`).href)});
${body}
for (const key of Object.keys(createRequire(import.meta.url).cache)) if (key.includes('/node_modules/')) console.log('LOADED ' + key);`,
  );
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', script], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const packages = (out: string): string[] => [...new Set([...out.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1]!))];

const heavy = (out: string): string[] =>
  packages(out).filter((name) => ['ssh2', '@nats-io/transport-node', '@nats-io/jetstream', 'eslint-scope', 'acorn'].includes(name));

/** What `import 'parsl-ts'` used to load eagerly, ~150 ms of CPU before a script's first line. */
const startUp = ['zod', 'nact', 'comlink', 'log-update', 'basic-ftp', 'yauzl', 'yazl'];

test('lazy loading - importing parsl-ts loads neither ssh2, the NATS clients, the closure analyser, zod nor nact', async () => {
  const out = await deadline(runScript(`await import(${JSON.stringify(index)});`), 120_000);
  assert.equal(heavy(out), []);
  assert.equal(packages(out).filter((name) => startUp.includes(name)), []);
});

test('lazy loading - an inline app loads the closure analyser; a thread-pool run never loads ssh2 or NATS', async () => {
  const out = await deadline(
    runScript(`const P = await import(${JSON.stringify(index)});
P.load();
console.log('RESULT ' + (await P.app((x) => x + 1)(41)));
await P.clear();`),
    120_000,
  );
  assert.match(out, /RESULT 42/);
  assert.equal(heavy(out).sort(), ['acorn', 'eslint-scope']);
  // Loaded on use (and proof that the listing sees both imported and required modules).
  for (const name of ['zod', 'nact', 'comlink']) assert.ok(packages(out).includes(name), `${name} was loaded by the run`);
});

test('lazy loading - an HTEX executor loads its manager on first use, and runs tasks', async () => {
  const out = await deadline(
    runScript(`const P = await import(${JSON.stringify(index)});
P.load(new P.Config({ strategy: 'none', executors: [new P.HighThroughputExecutor({ label: 'htex', maxWorkersPerNode: 1,
  provider: new P.LocalProvider({ initBlocks: 1, minBlocks: 1, maxBlocks: 1 }) })] }));
console.log('RESULT ' + (await P.app((x) => x * 2)(21)));
await P.clear();`),
    120_000,
  );
  assert.match(out, /RESULT 42/);
  assert.ok(heavy(out).includes('@nats-io/jetstream'), 'the HTEX manager was loaded');
});

test.run();

/**
 * Scripts run the ways a new user runs them: `parsl-ts run script.ts` in a fresh project of
 * each kind (the `type` npm init writes, `type: module`, no package.json at all), and plain
 * `node` with the script given as a string (`--input-type=module -e`) or piped on stdin.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { workerExecArgv } from '../src/worker/spawn.ts';
import { runNode, tempDir, type NodeRun, type NodeRunOptions } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** `node …args` from the repository's root. */
const node = (args: string[], options: NodeRunOptions = {}): Promise<NodeRun> => runNode(args, { cwd: root, ...options });
const bin = join(root, 'bin', 'parsl-ts.js');
const index = new URL('../src/index.ts', import.meta.url).href;



function assertOk(outcome: NodeRun, expected: string): void {
  assert.is(outcome.code, 0, `exit status ${outcome.code}; stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`);
  assert.ok(outcome.stdout.includes(expected), `no '${expected}' in stdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`);
}

// The README's example, shaped as a new user writes it: imports, a local module, top-level await.
const script = `import { app, load } from 'parsl-ts';
import { offset } from './lib.ts';
import label from './lib.ts';

// The app reads two imports: its worker imports ./lib.ts as this script does, as an ES module.
const double = app((x: number) => \`\${label} \${x * 2 + offset}\`);
await using _dfk = load();
console.log(await double(21));
`;
const lib = `export const offset = 1;
export default 'answer';
`;

for (const [kind, packageJson] of [
  ['type: commonjs (npm init)', { name: 'fresh', version: '1.0.0', type: 'commonjs' }],
  ['type: module', { name: 'fresh', version: '1.0.0', type: 'module' }],
  ['no package.json', undefined],
] as const) {
  test(`parsl-ts run - a script with imports and top-level await runs in a project of ${kind}`, async () => {
    const dir = tempDir('parsl-ts-project-');
    try {
      if (packageJson) writeFileSync(join(dir.path, 'package.json'), JSON.stringify(packageJson));
      mkdirSync(join(dir.path, 'node_modules'));
      // As `npm install parsl-ts` would put it, but this checkout.
      symlinkSync(root, join(dir.path, 'node_modules', 'parsl-ts'), 'dir');
      writeFileSync(join(dir.path, 'script.ts'), script);
      writeFileSync(join(dir.path, 'lib.ts'), lib);
      assertOk(await node([bin, 'run', 'script.ts'], { cwd: dir.path }), 'answer 43');
    } finally {
      dir.remove();
    }
  });
}

// A task that reports the options its worker thread was started with.
const stringScript = `import { app, clear, load } from ${JSON.stringify(index)};
load();
const execArgv = app(() => process.execArgv);
const seen = await execArgv();
console.log('worker execArgv ' + JSON.stringify(seen));
await clear();
`;

test('node - a script given with --input-type=module -e runs its tasks; workers do not get --input-type', async () => {
  const outcome = await node(['--import', 'tsx', '--input-type=module', '-e', stringScript]);
  assertOk(outcome, 'worker execArgv ');
  const seen = JSON.parse(outcome.stdout.split('worker execArgv ')[1]!) as string[];
  assert.equal(seen, ['--import', 'tsx']);
});

test('node - a script piped on stdin runs its tasks; workers do not get --input-type', async () => {
  const outcome = await node(['--import', 'tsx', '--input-type=module'], { stdin: stringScript });
  assertOk(outcome, 'worker execArgv ');
  const seen = JSON.parse(outcome.stdout.split('worker execArgv ')[1]!) as string[];
  assert.equal(seen, ['--import', 'tsx']);
});

test('workerExecArgv - keeps loader and warning options, drops entry, V8 and process options', () => {
  assert.equal(
    workerExecArgv([
      '--import', 'tsx', '--input-type=module', '-e', 'code', '--max-old-space-size=200', '--conditions=dev',
      '--title', 'name', '--no-warnings', '-r', './pre.cjs', '--experimental-vm-modules', '--experimental-permission',
      '--stack-trace-limit=50', '--print', '1', '--enable-source-maps',
    ]),
    ['--import', 'tsx', '--conditions=dev', '--no-warnings', '-r', './pre.cjs', '--experimental-vm-modules', '--enable-source-maps'],
  );
});

test.run();

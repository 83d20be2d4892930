// Inline apps that read their module's imports, run on an HTEX block (a block manager process
// started by a LocalProvider): the block's workers import what the app's module imported.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostname } from 'node:os';
import { clear, Config, HighThroughputExecutor, load, LocalProvider } from '../src/index.ts';
import { builtins, packages, relative, shadowed } from './fixtures/imports-apps.ts';
import { deadline } from './helpers.ts';

test.before(() => {
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({
          provider: new LocalProvider({ initBlocks: 1, minBlocks: 0, maxBlocks: 1 }),
          maxWorkersPerNode: 2,
          heartbeatPeriod: 300,
          heartbeatThreshold: 5_000,
        }),
      ],
    }),
  );
});
test.after(() => clear());

test('htex imports - builtin, package and relative imports travel to a block', async () => {
  const [fromBuiltins, fromPackages, fromRelative, fromShadowed] = await deadline(
    Promise.all([builtins(), packages(4), relative(2), shadowed()]),
    90_000,
  );
  assert.equal(fromBuiltins, [true, 'b.txt', 'pid']);
  assert.equal(fromPackages, [4, 'function', 'function', null]);
  assert.equal(fromRelative, [20, 6, 'HELLO!']);
  assert.is(fromShadowed, 'slept');
  // The block runs on this machine: the builtin's answer is this host's.
  assert.ok(hostname().length > 0);
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

test('types - app() inference and the test sources type-check under strict settings', () => {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'test/tsconfig.json'], { encoding: 'utf8' });
  assert.is(tsc.status, 0, `tsc reported:\n${tsc.stdout}${tsc.stderr}`);
});

test.run();

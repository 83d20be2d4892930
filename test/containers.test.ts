/**
 * The `container` option of HighThroughputExecutor. No container engine can run here (no
 * daemon, no registry to pull an image from), so the end-to-end test puts a stand-in
 * `apptainer` on PATH: it records how it was called and runs the command it was given, as
 * `apptainer exec IMAGE cmd…` would inside the image. The generated command lines for every
 * runtime are checked as text.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { app, clear, Config, ConfigError, HighThroughputExecutor, load, LocalProvider } from '../src/index.ts';
import { blockCommand } from '../src/actors/htex/block-command.ts';
import { deadline, tempDir } from './helpers.ts';

const work = tempDir();
test.after(async () => {
  await clear();
  work.remove();
});

test('containers - the block command is wrapped for each runtime', () => {
  const args = ['--run', 'r1', '--block-id', '0'];
  assert.is(
    blockCommand({ launchCmd: undefined, container: { runtime: 'apptainer', image: 'parsl.sif', options: ['--bind', '/scratch'] } }, args),
    'apptainer exec --bind /scratch parsl.sif parsl-ts block --run r1 --block-id 0',
  );
  assert.is(
    blockCommand({ launchCmd: undefined, container: { runtime: 'singularity', image: '/images/my image.sif', options: [] } }, args),
    "singularity exec '/images/my image.sif' parsl-ts block --run r1 --block-id 0",
  );
  assert.is(
    blockCommand({ launchCmd: undefined, container: { runtime: 'docker', image: 'ghcr.io/me/parsl-ts:1', options: ['--gpus', 'all'] } }, args),
    'docker run --rm --network host -e PARSL_TS_NATS --gpus all ghcr.io/me/parsl-ts:1 parsl-ts block --run r1 --block-id 0',
  );
  assert.is(
    blockCommand({ launchCmd: '/opt/parsl/bin/parsl-ts block', container: { runtime: 'podman', image: 'img', options: [] } }, args),
    'podman run --rm --network host -e PARSL_TS_NATS img /opt/parsl/bin/parsl-ts block --run r1 --block-id 0',
  );
  assert.is(blockCommand({ launchCmd: 'parsl-ts block', container: undefined }, args), 'parsl-ts block --run r1 --block-id 0');
});

test('containers - options are validated', () => {
  assert.throws(
    () => new HighThroughputExecutor({ container: { runtime: 'lxc', image: 'x' } as never }),
    (e: unknown) => e instanceof ConfigError && /HighThroughputExecutor\.container\.runtime/.test((e as Error).message),
  );
  assert.throws(
    () => new HighThroughputExecutor({ container: { runtime: 'docker' } as never }),
    (e: unknown) => e instanceof ConfigError && /container\.image/.test((e as Error).message),
  );
});

test('containers - blocks start through the runtime and run tasks (stand-in apptainer)', async () => {
  const bin = join(work.path, 'bin');
  const calls = join(work.path, 'apptainer-calls');
  await import('node:fs').then((fs) => fs.mkdirSync(bin));
  writeFileSync(
    join(bin, 'apptainer'),
    `#!/bin/bash\n# stand-in: apptainer exec [--opt value…] IMAGE cmd…\necho "$@" >> ${calls}\n[ "$1" = exec ] || exit 64\nshift\nwhile [ "\${1#--}" != "$1" ]; do shift 2; done\nshift # the image\nexec "$@"\n`,
  );
  chmodSync(join(bin, 'apptainer'), 0o755);
  process.env.PATH = `${bin}:${process.env.PATH}`;
  const launchCmd = `${process.execPath} ${resolve('bin/parsl-ts.js')} block`;
  load(
    new Config({
      executors: [
        new HighThroughputExecutor({
          provider: new LocalProvider({ initBlocks: 1, maxBlocks: 1 }),
          maxWorkersPerNode: 1,
          heartbeatPeriod: 300,
          heartbeatThreshold: 30_000, // generous: a late beat under load is not what this tests
          launchCmd,
          container: { runtime: 'apptainer', image: 'parsl-ts.sif', options: ['--bind', '/tmp'] },
        }),
      ],
    }),
  );
  const cube = app((x: number) => x ** 3);
  assert.equal(await deadline(Promise.all([cube(2), cube(3)]), 60_000), [8, 27]);
  const recorded = readFileSync(calls, 'utf8');
  assert.match(recorded, /^exec --bind \/tmp parsl-ts\.sif .*parsl-ts\.js block --run \w+ --label htex --block-id 0/);
});

test.run();

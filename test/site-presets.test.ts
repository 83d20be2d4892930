/**
 * The site presets of examples/sites/ (Midway, Theta, Cori and the multi-site config of the
 * Parsl talk). NO SITE IS CONTACTED: the presets are only constructed, with made-up
 * environment values, which validates every option; submit scripts are rendered by calling the
 * provider's `submit` with a fake Channel that records the files written and the commands run
 * and answers `sbatch`/`qsub` with a job id. No SSH connection, no NATS connection, no
 * scheduler. (The one child process below stops at the config, before any connection.)
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfigModule } from '../src/config/from-environment.ts';
import {
  AprunLauncher,
  CobaltProvider,
  Config,
  ConfigError,
  HighThroughputExecutor,
  LocalChannel,
  SlurmProvider,
  SrunLauncher,
  SSHChannel,
  SSHInteractiveLoginChannel,
  ThreadPoolExecutor,
  type Channel,
  type ExecResult,
} from '../src/index.ts';
import cori, { CORI_HOSTNAME, coriExecutor } from '../examples/sites/cori.ts';
import midway, { MIDWAY_HOSTNAME, MIDWAY_WORKER_INIT, midwayExecutor } from '../examples/sites/midway.ts';
import multiSite from '../examples/sites/multi-site.ts';
import { SRUN_ALL_CPUS, type SiteEnv } from '../examples/sites/site-env.ts';
import theta, { THETA_HOSTNAME } from '../examples/sites/theta.ts';

const root = new URL('..', import.meta.url).pathname;

/** Made-up values: nothing here names a real account, password or server. */
const MIDWAY_ENV: SiteEnv = {
  MIDWAY_USER: 'jdoe',
  MIDWAY_NATS_SERVERS: 'nats://midway-login.example:4222',
  MIDWAY_NATS_USER: 'parsl',
  MIDWAY_NATS_PASSWORD: 'fake-password',
};
const THETA_ENV: SiteEnv = {
  THETA_USER: 'jdoe',
  THETA_PROJECT: 'FAKEPROJ01',
  THETA_NATS_SERVERS: 'nats://theta-login.example:4222, nats://theta-login2.example:4222',
  THETA_NATS_TOKEN: 'fake-token',
};
const CORI_ENV: SiteEnv = {
  CORI_USER: 'jdoe',
  CORI_NATS_SERVERS: 'nats://cori-login.example:4222',
  CORI_NATS_TOKEN: 'fake-token',
  CORI_QOS: 'debug',
  CORI_ACCOUNT: 'm0000',
};

/** A channel that records what a provider writes and runs, and answers submit commands. */
class RecordingChannel implements Channel {
  readonly scriptDir = '/home/jdoe/.parsl-ts/scripts';
  readonly description = 'recording (no site)';
  readonly commands: string[] = [];
  readonly files = new Map<string, { content: string; mode: number | undefined }>();
  async exec(command: string): Promise<ExecResult> {
    this.commands.push(command);
    if (/^(sbatch|qsub) /.test(command)) return { exitCode: 0, stdout: '4242\n', stderr: '' };
    throw new Error(`RecordingChannel: nothing should run ${command}`);
  }
  async push(localPath: string): Promise<string> {
    return localPath;
  }
  async pull(remotePath: string): Promise<string> {
    return remotePath;
  }
  async makeDirs(): Promise<void> {}
  async writeFile(path: string, content: string, mode?: number): Promise<void> {
    this.files.set(path, { content, mode });
  }
  async close(): Promise<void> {}
  /** The one submit script written. */
  script(): { path: string; content: string; mode: number | undefined } {
    const scripts = [...this.files].filter(([path]) => path.endsWith('.submit'));
    assert.is(scripts.length, 1, `one submit script; written: ${[...this.files.keys()].join(', ')}`);
    return { path: scripts[0]![0], ...scripts[0]![1] };
  }
}

/** What the HighThroughputExecutor hands its provider, in shape: a block manager command and the NATS variable. */
const BLOCK_COMMAND = 'node block-main.js --run r1 --label L --block-id 0';
const BLOCK_ENV = { PARSL_TS_NATS: '{"servers":"nats://x:4222"}' };

/** Submits one block through `channel` and returns the script the provider wrote. */
async function renderScript(executor: HighThroughputExecutor, channel: RecordingChannel): Promise<string> {
  const jobId = await executor.options.provider.submit(BLOCK_COMMAND, 1, 'block-0', { env: BLOCK_ENV });
  assert.is(jobId, '4242');
  const script = channel.script();
  assert.is(script.mode, 0o700, 'scripts carry NATS credentials: owner-only');
  const check = spawnSync('bash', ['-n', '-c', script.content], { encoding: 'utf8' });
  assert.is(check.status, 0, `bash -n: ${check.stderr}`);
  return script.content;
}

/** Asserts that each of `needles` is a whole line of `text`, in this order. */
function linesInOrder(text: string, needles: string[]): void {
  const lines = text.split('\n');
  let at = -1;
  for (const needle of needles) {
    const next = lines.findIndex((line, i) => i > at && line === needle);
    assert.ok(next > at, `line ${JSON.stringify(needle)} after line ${at + 1} in:\n${text}`);
    at = next;
  }
}

function configError(make: () => unknown, path: string, message: RegExp): void {
  try {
    make();
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.is((error as ConfigError).path, path);
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable(`expected a ConfigError on ${path}`);
}

const htex = (config: Config, label: string): HighThroughputExecutor => {
  const executor = config.executors.find((e) => e.label === label);
  assert.instance(executor, HighThroughputExecutor, `executor '${label}'`);
  return executor as HighThroughputExecutor;
};

// ---------------------------------------------------------------- Midway

test('midway - the seed shape: htex "midway" on Slurm westmere over SSH to swift, and 2 local threads', () => {
  const config = midway({ env: MIDWAY_ENV });
  assert.instance(config, Config);
  assert.equal(
    config.executors.map((e) => e.label),
    ['midway', 'local'],
  );
  const local = config.executors[1];
  assert.instance(local, ThreadPoolExecutor);
  assert.is((local as ThreadPoolExecutor).options.maxThreads, 2);

  const executor = htex(config, 'midway');
  assert.is(executor.options.maxWorkersPerNode, 6, "the seed's tasks_per_node");
  assert.equal(executor.options.nats.servers, 'nats://midway-login.example:4222');
  assert.is(executor.options.nats.user, 'parsl');
  assert.is(executor.options.nats.password, 'fake-password');

  const provider = executor.options.provider;
  assert.instance(provider, SlurmProvider);
  const o = (provider as SlurmProvider).options;
  assert.is(o.partition, 'westmere');
  assert.is(o.maxBlocks, 1000);
  assert.is(o.nodesPerBlock, 1);
  assert.is(o.account, undefined);
  assert.instance(o.launcher, SrunLauncher);
  assert.is((o.launcher as SrunLauncher).overrides, SRUN_ALL_CPUS);
  assert.is(o.workerInit, MIDWAY_WORKER_INIT.join('\n'));

  assert.instance(provider.channel, SSHChannel);
  assert.not.instance(provider.channel, SSHInteractiveLoginChannel);
  const ssh = (provider.channel as SSHChannel).options;
  assert.is(ssh.hostname, MIDWAY_HOSTNAME);
  assert.is(ssh.hostname, 'swift.rcc.uchicago.edu');
  assert.is(ssh.username, 'jdoe');
  assert.is(ssh.hostKeyPolicy, 'strict');
  assert.is((provider.channel as SSHChannel).connectionCount, 0, 'constructing opened no connection');
});

test('midway - submit script: westmere partition, module loads before srun, one block manager per node', async () => {
  const channel = new RecordingChannel();
  const config = midway({ env: { ...MIDWAY_ENV, MIDWAY_ACCOUNT: 'pi-jdoe' }, channel });
  const script = await renderScript(htex(config, 'midway'), channel);
  linesInOrder(script, [
    '#!/bin/bash',
    '#SBATCH --nodes=1',
    '#SBATCH --time=00:30:00',
    '#SBATCH --ntasks-per-node=1',
    '#SBATCH --exclusive',
    '#SBATCH --partition=westmere',
    '#SBATCH --account=pi-jdoe',
    `export PARSL_TS_NATS='${BLOCK_ENV.PARSL_TS_NATS}'`,
    'module load singularity',
    'module load nodejs',
    BLOCK_COMMAND,
    'srun --ntasks=1 --ntasks-per-node=1 -l --cpus-per-task=$SLURM_CPUS_ON_NODE bash "$PARSL_CMD_FILE"',
  ]);
  assert.equal(channel.commands, [`sbatch --parsable ${channel.script().path}`]);
});

test('midway - overrides and MIDWAY_CHANNEL=local', async () => {
  const config = midway({
    env: { ...MIDWAY_ENV, MIDWAY_CHANNEL: 'local', MIDWAY_SCRIPT_DIR: '/home/jdoe/parsl-scripts' },
    partition: 'broadwl',
    maxBlocks: 5,
    nodesPerBlock: 2,
    maxWorkersPerNode: 28,
    workerInit: 'module load node/20',
    localThreads: 4,
  });
  const o = (htex(config, 'midway').options.provider as SlurmProvider).options;
  assert.is(o.partition, 'broadwl');
  assert.is(o.maxBlocks, 5);
  assert.is(o.nodesPerBlock, 2);
  assert.is(o.workerInit, 'module load node/20');
  assert.instance(o.channel, LocalChannel);
  assert.is(o.channel.scriptDir, '/home/jdoe/parsl-scripts');
  assert.is(htex(config, 'midway').options.maxWorkersPerNode, 28);
  assert.is((config.executors[1] as ThreadPoolExecutor).options.maxThreads, 4);

  configError(() => midway({ env: { ...MIDWAY_ENV, MIDWAY_CHANNEL: 'scp' } }), 'MIDWAY_CHANNEL', /must be 'ssh' or 'local'/);
});

test('midway - a missing or contradictory setting is reported at construction, by its variable', () => {
  const { MIDWAY_NATS_SERVERS: _, ...noServers } = MIDWAY_ENV;
  configError(() => midway({ env: noServers }), 'MIDWAY_NATS_SERVERS', /NATS server with JetStream.*compute nodes/);
  configError(() => midway({ env: { ...MIDWAY_ENV, MIDWAY_NATS_SERVERS: ' , ' } }), 'MIDWAY_NATS_SERVERS', /no server URL/);
  // A password without its user: the executor's own validation names the option.
  const { MIDWAY_NATS_USER: __, ...noUser } = MIDWAY_ENV;
  assert.throws(() => midway({ env: noUser }), (error: unknown) => error instanceof ConfigError && /password/.test((error as Error).message));
  // Options the preset passes on are validated by the provider.
  assert.throws(() => midway({ env: MIDWAY_ENV, maxBlocks: -1 }), (error: unknown) => error instanceof ConfigError && /maxBlocks/.test((error as Error).message));
});

// ---------------------------------------------------------------- Theta

test('theta - htex "theta" on Cobalt debug-flat-quad with aprun, over an interactive SSH login', () => {
  const config = theta({ env: THETA_ENV });
  assert.equal(
    config.executors.map((e) => e.label),
    ['theta'],
  );
  const executor = htex(config, 'theta');
  assert.is(executor.options.maxWorkersPerNode, 4, "the seed's max_workers");
  assert.equal(executor.options.nats.servers, ['nats://theta-login.example:4222', 'nats://theta-login2.example:4222']);
  assert.is(executor.options.nats.token, 'fake-token');

  const provider = executor.options.provider;
  assert.instance(provider, CobaltProvider);
  const o = (provider as CobaltProvider).options;
  assert.is(o.queue, 'debug-flat-quad');
  assert.is(o.project, 'FAKEPROJ01');
  assert.is(o.initBlocks, 1);
  assert.is(o.minBlocks, 1);
  assert.is(o.cmdTimeoutMs, 120_000, "the seed's cmd_timeout=120");
  assert.instance(o.launcher, AprunLauncher);
  assert.is(o.workerInit, 'source ~/parsl-ts-env.sh');

  assert.instance(provider.channel, SSHInteractiveLoginChannel);
  const ssh = (provider.channel as SSHInteractiveLoginChannel).options;
  assert.is(ssh.hostname, THETA_HOSTNAME);
  assert.is(ssh.username, 'jdoe');
  assert.is((provider.channel as SSHChannel).connectionCount, 0, 'constructing opened no connection');

  const pinned = theta({ env: { ...THETA_ENV, THETA_HOST: 'thetalogin6.alcf.anl.gov', THETA_QUEUE: 'default' } });
  const pinnedProvider = htex(pinned, 'theta').options.provider as CobaltProvider;
  assert.is((pinnedProvider.channel as SSHChannel).options.hostname, 'thetalogin6.alcf.anl.gov');
  assert.is(pinnedProvider.options.queue, 'default');
});

test('theta - submit script and qsub line: workerInit before aprun over 2 nodes, queue and project on qsub', async () => {
  const channel = new RecordingChannel();
  const script = await renderScript(htex(theta({ env: THETA_ENV, channel }), 'theta'), channel);
  const path = channel.script().path;
  linesInOrder(script, [
    '#!/bin/bash',
    `#COBALT -o ${path}.stdout`,
    `#COBALT -e ${path}.stderr`,
    `export PARSL_TS_NATS='${BLOCK_ENV.PARSL_TS_NATS}'`,
    'source ~/parsl-ts-env.sh',
    BLOCK_COMMAND,
    'aprun -n 2 -N 1 -d 64 /bin/bash "$PARSL_CMD_FILE"',
  ]);
  assert.equal(channel.commands, [`qsub -n 2 -t 30 -q debug-flat-quad -A FAKEPROJ01 ${path}`]);
});

test('theta - THETA_PROJECT is required', () => {
  const { THETA_PROJECT: _, ...noProject } = THETA_ENV;
  configError(() => theta({ env: noProject }), 'THETA_PROJECT', /ALCF project/);
  // Given in code instead, it is not needed in the environment.
  const o = (htex(theta({ env: noProject, account: 'OTHER01' }), 'theta').options.provider as CobaltProvider).options;
  assert.is(o.project, 'OTHER01');
});

// ---------------------------------------------------------------- Cori

test('cori - htex "cori" on Slurm debug, KNL constraint, srun, over an interactive SSH login', () => {
  const config = cori({ env: CORI_ENV });
  assert.equal(
    config.executors.map((e) => e.label),
    ['cori'],
  );
  const executor = htex(config, 'cori');
  assert.is(executor.options.maxWorkersPerNode, 68);
  assert.is(executor.options.nats.servers, 'nats://cori-login.example:4222');

  const provider = executor.options.provider;
  assert.instance(provider, SlurmProvider);
  const o = (provider as SlurmProvider).options;
  assert.is(o.partition, 'debug');
  assert.is(o.constraint, 'knl,quad,cache');
  assert.is(o.qos, 'debug');
  assert.is(o.account, 'm0000');
  assert.is(o.initBlocks, 1);
  assert.is(o.minBlocks, 1);
  assert.instance(o.launcher, SrunLauncher);
  assert.is(o.workerInit, 'source ~/parsl-ts-env.sh');

  assert.instance(provider.channel, SSHInteractiveLoginChannel);
  const ssh = (provider.channel as SSHInteractiveLoginChannel).options;
  assert.is(ssh.hostname, CORI_HOSTNAME);
  assert.is(ssh.username, 'jdoe');
  assert.is(ssh.privateKeyPath, undefined);

  const haswell = cori({ env: { ...CORI_ENV, CORI_CONSTRAINT: 'haswell', CORI_SSH_KEY: '/keys/nersc' } });
  const haswellProvider = htex(haswell, 'cori').options.provider as SlurmProvider;
  assert.is(haswellProvider.options.constraint, 'haswell');
  assert.is((haswellProvider.channel as SSHChannel).options.privateKeyPath, '/keys/nersc');
});

test('cori - submit script: partition, constraint and qos directives, workerInit before srun', async () => {
  const channel = new RecordingChannel();
  const script = await renderScript(htex(cori({ env: CORI_ENV, channel }), 'cori'), channel);
  linesInOrder(script, [
    '#!/bin/bash',
    '#SBATCH --nodes=1',
    '#SBATCH --ntasks-per-node=1',
    '#SBATCH --exclusive',
    '#SBATCH --partition=debug',
    '#SBATCH --account=m0000',
    '#SBATCH --qos=debug',
    '#SBATCH --constraint=knl,quad,cache',
    'source ~/parsl-ts-env.sh',
    BLOCK_COMMAND,
    'srun --ntasks=1 --ntasks-per-node=1 -l --cpus-per-task=$SLURM_CPUS_ON_NODE bash "$PARSL_CMD_FILE"',
  ]);
  assert.equal(channel.commands, [`sbatch --parsable ${channel.script().path}`]);
});

// ---------------------------------------------------------------- Composition and the CLI path

test('multi-site - theta and cori side by side, as on the slide; midway can join', () => {
  const env = { ...THETA_ENV, ...CORI_ENV };
  const config = multiSite({ env });
  assert.equal(
    config.executors.map((e) => e.label),
    ['theta', 'cori'],
  );
  assert.instance(htex(config, 'theta').options.provider, CobaltProvider);
  assert.instance(htex(config, 'cori').options.provider, SlurmProvider);
  const three = new Config({
    executors: [...config.executors, midwayExecutor({ env: MIDWAY_ENV }), new ThreadPoolExecutor({ label: 'local', maxThreads: 2 })],
  });
  assert.equal(
    three.executors.map((e) => e.label),
    ['theta', 'cori', 'midway', 'local'],
  );
  // Each site's settings come from its own variables: a missing one names its site.
  const { CORI_NATS_SERVERS: _, ...noCori } = env;
  configError(() => multiSite({ env: noCori }), 'CORI_NATS_SERVERS', /NATS server/);
  assert.is(coriExecutor({ env: CORI_ENV }).label, 'cori');
});

/** Sets variables of process.env for the length of `work`, then puts back what was there. */
async function withProcessEnv(values: SiteEnv, work: () => Promise<void>): Promise<void> {
  const saved = new Map(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  try {
    await work();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

test('--config path: each preset module loads as the CLI loads it (default export called with no argument, process.env)', async () => {
  await withProcessEnv({ ...MIDWAY_ENV, ...THETA_ENV, ...CORI_ENV }, async () => {
    const expected: Record<string, string[]> = {
      'midway.ts': ['midway', 'local'],
      'theta.ts': ['theta'],
      'cori.ts': ['cori'],
      'multi-site.ts': ['theta', 'cori'],
    };
    for (const [file, labels] of Object.entries(expected)) {
      const config = await loadConfigModule(`${root}examples/sites/${file}`);
      assert.instance(config, Config, file);
      assert.equal(
        config.executors.map((e) => e.label),
        labels,
        file,
      );
    }
  });
});

test('parsl-ts run --config examples/sites/midway.ts: a missing MIDWAY_NATS_SERVERS stops it before the script, with exit status 2', () => {
  // The config throws while it is built, so nothing is connected to and the script never runs.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('MIDWAY_') || name.startsWith('PARSL_TS_')) delete env[name];
  const run = spawnSync(process.execPath, ['bin/parsl-ts.js', 'run', '--config', 'examples/sites/midway.ts', 'test/fixtures/cli-plain.mjs'], {
    cwd: root,
    env: { ...env, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(run.status, 2, `exit status; stderr:\n${run.stderr}`);
  assert.match(run.stderr, /MIDWAY_NATS_SERVERS/);
  assert.not.match(run.stdout, /plain js/, 'the script did not run');
});

test.run();

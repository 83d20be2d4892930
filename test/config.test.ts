import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  app,
  bashApp,
  clear,
  Config,
  ConfigError,
  HighThroughputExecutor,
  IllegalStateError,
  load,
  NoKernelError,
  ThreadPoolExecutor,
} from '../src/index.ts';
import { buildConfig, configFromEnvironment } from '../src/config/from-environment.ts';
import everyField, { describeConfig } from './fixtures/config-every-field.ts';

function configError(make: () => unknown): ConfigError {
  try {
    make();
  } catch (error) {
    assert.instance(error, ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

test('Config - an unknown option is named', () => {
  const error = configError(() => new Config({ retires: 2 } as never));
  assert.match(error.message, "unknown option 'retires'");
  assert.is(error.path, 'Config');
});

test('Config - a wrong value names the option, the rule and what was given', () => {
  const error = configError(() => new Config({ retries: -1 }));
  assert.is(error.path, 'Config.retries');
  assert.match(error.message, 'Config.retries');
  assert.match(error.message, '>=0');
  assert.match(error.message, 'got -1');
  const typeError = configError(() => new Config({ retries: 'two' as never }));
  assert.match(typeError.message, 'expected number');
  assert.match(typeError.message, "got 'two'");
});

test('Config - executors must be executors', () => {
  const error = configError(() => new Config({ executors: [{ label: 'x' }] as never }));
  assert.is(error.path, 'Config.executors[0]');
  assert.match(error.message, 'new ThreadPoolExecutor');
  const empty = configError(() => new Config({ executors: [] }));
  assert.is(empty.path, 'Config.executors');
});

test('Config - two executors with one label is a contradiction', () => {
  const error = configError(
    () => new Config({ executors: [new ThreadPoolExecutor({ label: 'a' }), new ThreadPoolExecutor({ label: 'a' })] }),
  );
  assert.is(error.path, 'Config.executors[1].label');
  assert.match(error.message, "'a' is used by two executors");
});

test('Config - retryHandler must be a function; exitMode one of three', () => {
  assert.match(configError(() => new Config({ retryHandler: 3 as never })).message, 'Config.retryHandler');
  const exitMode = configError(() => new Config({ exitMode: 'later' as never }));
  assert.is(exitMode.path, 'Config.exitMode');
  assert.match(exitMode.message, "got 'later'");
});

test('periods - heartbeat, threshold, strategy and drain periods under 100 ms are refused, suggesting seconds', () => {
  const cases: [string, () => unknown][] = [
    ['HighThroughputExecutor.heartbeatPeriod', () => new HighThroughputExecutor({ heartbeatPeriod: 1 })],
    ['HighThroughputExecutor.heartbeatThreshold', () => new HighThroughputExecutor({ heartbeatPeriod: 100, heartbeatThreshold: 4 })],
    ['HighThroughputExecutor.drainPeriod', () => new HighThroughputExecutor({ drainPeriod: '50ms' })],
    ['Config.strategyPeriod', () => new Config({ strategyPeriod: 5 })],
  ];
  for (const [path, make] of cases) {
    const error = configError(make);
    assert.is(error.path, path);
    assert.match(error.message, 'must be at least 100 ms');
    assert.match(error.message, "write '1s' for one second");
  }
  // Parsl's seconds, written as numbers: both refused in one message.
  const both = configError(() => new HighThroughputExecutor({ heartbeatPeriod: 1, heartbeatThreshold: 4 }));
  assert.match(both.message, 'HighThroughputExecutor.heartbeatPeriod: must be at least 100 ms');
  assert.match(both.message, 'HighThroughputExecutor.heartbeatThreshold: must be at least 100 ms');
  // 100 ms and more, and strings with a unit, are fine.
  new HighThroughputExecutor({ heartbeatPeriod: 100, heartbeatThreshold: '1s', drainPeriod: '0.1s' });
  new Config({ strategyPeriod: '1s' });
  // Not positive at all: the duration rule alone.
  const negative = configError(() => new Config({ strategyPeriod: -1 }));
  assert.match(negative.message, 'expected a positive duration');
  assert.not.match(negative.message, 'at least 100 ms');
});

test('flags and variables - every Config field survives --threads, --retries and PARSL_TS_*', async () => {
  // The fields come from the Config itself: a new field is checked without changing this test,
  // and must be set to something other than its default in the fixture (or this fails).
  const plain = describeConfig(new Config());
  const full = describeConfig(everyField);
  assert.equal(Object.keys(full).sort(), Object.keys(plain).sort());
  for (const field of Object.keys(full)) {
    assert.not.equal(full[field], plain[field], `set Config.${field} to a value other than its default in test/fixtures/config-every-field.ts`);
  }
  const expect = (config: Config, changes: Record<string, unknown>, how: string) => {
    const got = describeConfig(config);
    for (const field of Object.keys(full)) {
      assert.equal(got[field], field in changes ? changes[field] : full[field], `Config.${field} after ${how}`);
    }
  };
  expect(buildConfig({ config: everyField }), {}, 'no flag');
  expect(buildConfig({ config: everyField, retries: 2 }), { retries: 2 }, '--retries 2');
  expect(buildConfig({ config: everyField, threads: 3 }), { executors: ['every-field:3'] }, '--threads 3');
  expect(buildConfig({ config: everyField, threads: 3, retries: 0 }), { executors: ['every-field:3'], retries: 0 }, '--threads 3 --retries 0');
  // A config made by another copy of parsl-ts (a different Config class) is rebuilt in full.
  const foreign = Object.assign(Object.create({ constructor: { name: 'Config' } }) as object, everyField) as Config;
  expect(buildConfig({ config: foreign }), {}, 'a config of another copy');
  const module = fileURLToPath(new URL('./fixtures/config-every-field.ts', import.meta.url));
  const fromEnv = await configFromEnvironment({ PARSL_TS_CONFIG: module, PARSL_TS_RETRIES: '1', PARSL_TS_THREADS: '4' });
  assert.ok(fromEnv);
  expect(fromEnv, { executors: ['every-field:4'], retries: 1 }, 'PARSL_TS_CONFIG, PARSL_TS_RETRIES=1, PARSL_TS_THREADS=4');
  expect((await configFromEnvironment({ PARSL_TS_CONFIG: module }))!, {}, 'PARSL_TS_CONFIG alone');
});

test('ThreadPoolExecutor - options are checked', () => {
  assert.match(configError(() => new ThreadPoolExecutor({ maxThreads: 0 })).message, 'ThreadPoolExecutor.maxThreads');
  assert.match(configError(() => new ThreadPoolExecutor({ maxThreads: 1.5 })).message, 'expected int');
  assert.match(configError(() => new ThreadPoolExecutor({ threads: 2 } as never)).message, "unknown option 'threads'");
  assert.match(
    configError(() => new ThreadPoolExecutor({ resourceLimits: { maxOldGenerationSizeMb: -5 } })).message,
    'ThreadPoolExecutor.resourceLimits.maxOldGenerationSizeMb',
  );
  assert.is(new ThreadPoolExecutor({ maxThreads: 3 }).options.maxThreads, 3);
  assert.ok(new ThreadPoolExecutor().options.maxThreads >= 1, 'defaults to the number of cores');
});

test('app options - are checked when the app is made', () => {
  assert.match(configError(() => app(() => 1, { executors: 'gpu' as never })).message, 'app() options.executors');
  assert.match(configError(() => app(() => 1, { exportName: 'x' })).message, "'exportName' needs 'module'");
  assert.match(configError(() => app(() => 1, { walltime: 'soon' })).message, 'positive duration');
  assert.match(configError(() => bashApp(() => 'true', { stdout: 5 as never })).message, 'bashApp() options.stdout');
  assert.match(configError(() => app(() => 1, { retries: 1 } as never)).message, "unknown option 'retries'");
});

test('calls - without load() an app call says what to do', () => {
  const f = app(() => 1);
  assert.throws(() => f(), (e: unknown) => e instanceof NoKernelError && /call load\(\)/.test((e as Error).message));
});

test('calls - an unknown executor label, a bad walltime or stdout throw at the call', async () => {
  load(new Config({ executors: [new ThreadPoolExecutor({ label: 'cpu', maxThreads: 1 })] }));
  try {
    const gpu = app(() => 1, { executors: ['gpu'] });
    const error = configError(() => gpu());
    assert.match(error.message, "no executor is labelled 'gpu'; the config has 'cpu'");
    const timed = app((_o: { walltime: unknown }) => 1);
    assert.match(configError(() => timed({ walltime: -3 })).message, 'walltime');
    const echo = bashApp((_o: { stdout: unknown }) => 'echo');
    assert.match(configError(() => echo({ stdout: ['x', 'r'] })).message, "[path, 'w' | 'a']");
    assert.match(configError(() => echo({ stdout: ['x', 'w', 42] })).message, "[path, 'w' | 'a']");
    assert.match(configError(() => echo({ stderr: ['x'] } as never)).message, 'stderr');
    assert.throws(() => load(), (e: unknown) => e instanceof IllegalStateError && /already loaded/.test((e as Error).message));
  } finally {
    await clear();
  }
});

test('load - a non-Config is refused', () => {
  const error = configError(() => load({ executors: [] } as never));
  assert.match(error.message, 'expected a Config');
});

test.run();

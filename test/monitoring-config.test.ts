import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/common/errors.ts';
import { monitoringDatabasePath, parseLoggingEndpoint } from '../src/monitoring/endpoint.ts';
import { MonitoringHub } from '../src/monitoring/hub.ts';

const throwsConfig = (fn: () => unknown, path: string, message: RegExp) => {
  try {
    fn();
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.is((error as ConfigError).path, path);
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable('expected a ConfigError');
};

test('loggingEndpoint as SQLAlchemy reads it: three slashes relative, four absolute', () => {
  assert.is(parseLoggingEndpoint('sqlite:///monitoring.db', '/home/u/proj'), '/home/u/proj/monitoring.db');
  assert.is(parseLoggingEndpoint('sqlite:///runinfo/monitoring.db', '/home/u/proj'), '/home/u/proj/runinfo/monitoring.db');
  assert.is(parseLoggingEndpoint('sqlite:////var/lib/parsl/mon.db', '/home/u'), '/var/lib/parsl/mon.db');
  assert.is(parseLoggingEndpoint('sqlite+pysqlite:///m.db', '/p'), '/p/m.db');
  assert.is(parseLoggingEndpoint('SQLite:///my%20runs/m.db', '/p'), '/p/my runs/m.db');
  assert.is(monitoringDatabasePath(undefined, 'runinfo', '/p'), '/p/runinfo/monitoring.db');
  assert.is(monitoringDatabasePath('sqlite:////x/y.db', 'runinfo', '/p'), '/x/y.db');
});

test('loggingEndpoint: other forms are refused, saying what to write', () => {
  const field = 'monitoring.loggingEndpoint';
  throwsConfig(() => parseLoggingEndpoint('postgresql://db.example.org/parsl'), field, /only SQLite/);
  throwsConfig(() => parseLoggingEndpoint('monitoring.db'), field, /such as 'sqlite:\/\/\/monitoring\.db'/);
  throwsConfig(() => parseLoggingEndpoint('/abs/monitoring.db'), field, /'sqlite:\/\/\/\/abs\/monitoring\.db'/);
  throwsConfig(() => parseLoggingEndpoint('sqlite://'), field, /in-memory/);
  throwsConfig(() => parseLoggingEndpoint('sqlite:///:memory:'), field, /in-memory/);
  throwsConfig(() => parseLoggingEndpoint('sqlite://host/x.db'), field, /names no host: write 'sqlite:\/\/\/host\/x\.db'/);
  throwsConfig(() => parseLoggingEndpoint('sqlite:/x.db'), field, /starts 'sqlite:\/\/\/'/);
  throwsConfig(() => parseLoggingEndpoint('sqlite:///x.db?timeout=5'), field, /URL options/);
  throwsConfig(() => parseLoggingEndpoint('sqlite:///runs/'), field, /folder/);
});

test('MonitoringHub: defaults, durations, and a ConfigError naming the field', () => {
  const hub = new MonitoringHub();
  assert.is(hub.loggingEndpoint, undefined);
  assert.is(hub.resourceMonitoringEnabled, true);
  assert.is(hub.resourceMonitoringInterval, 30_000);
  const set = new MonitoringHub({
    loggingEndpoint: 'sqlite:///m.db', workflowName: 'wf', workflowVersion: '2', resourceMonitoringEnabled: false, resourceMonitoringInterval: '5s',
  });
  assert.equal([set.loggingEndpoint, set.workflowName, set.workflowVersion, set.resourceMonitoringEnabled, set.resourceMonitoringInterval], ['sqlite:///m.db', 'wf', '2', false, 5000]);
  throwsConfig(() => new MonitoringHub({ resourceMonitoringInterval: -1 }), 'monitoring.resourceMonitoringInterval', /positive duration/);
  throwsConfig(() => new MonitoringHub({ loggingEndpoint: 'mysql://x/y' }), 'monitoring.loggingEndpoint', /only SQLite/);
  throwsConfig(() => new MonitoringHub({ resourceMonitoringEnabled: 'yes' as never }), 'monitoring.resourceMonitoringEnabled', /boolean/);
  throwsConfig(() => new MonitoringHub({ hubAddress: '1.2.3.4' } as never), 'monitoring', /unknown option 'hubAddress'/);
});

test.run();

import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../common/errors.ts';

/** The database file in `Config.runDir` when no `loggingEndpoint` is given (Parsl's default too). */
export const MONITORING_DB = 'monitoring.db';

/**
 * The file a `loggingEndpoint` names, read as SQLAlchemy reads an SQLite URL, as Parsl users
 * write it: `sqlite:///relative/path.db` (three slashes: a path relative to `cwd`) and
 * `sqlite:////absolute/path.db` (four: an absolute path). `sqlite+pysqlite:///…` is taken
 * too. Anything else throws a `ConfigError` that says what to write instead: another
 * database (`postgresql://…`), a host (`sqlite://host/x.db`), an in-memory database
 * (`sqlite://`, `sqlite:///:memory:`; a dashboard could not read it), URL options (`?…`), a
 * bare path.
 */
export function parseLoggingEndpoint(endpoint: string, cwd: string = process.cwd()): string {
  const field = 'monitoring.loggingEndpoint';
  const shown = `'${endpoint}'`;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(endpoint);
  if (!scheme) {
    // 'sqlite:///' + '/abs/x.db' is the four-slash form of an absolute path.
    throw new ConfigError(field, `expected an SQLite URL such as 'sqlite:///${endpoint}'; got ${shown}`);
  }
  const dialect = scheme[1]!.toLowerCase().split('+')[0];
  if (dialect !== 'sqlite') {
    throw new ConfigError(field, `only SQLite databases are supported ('sqlite:///monitoring.db'); got ${shown}`);
  }
  const rest = endpoint.slice(scheme[0].length);
  if (!rest.startsWith('//')) {
    throw new ConfigError(field, `an SQLite URL starts 'sqlite:///' (relative path) or 'sqlite:////' (absolute path); got ${shown}`);
  }
  const afterSlashes = rest.slice(2);
  const slash = afterSlashes.indexOf('/');
  const host = slash < 0 ? afterSlashes : afterSlashes.slice(0, slash);
  if (host !== '') {
    throw new ConfigError(field, `an SQLite URL names no host: write 'sqlite:///${host}${slash < 0 ? '' : afterSlashes.slice(slash)}' for a relative path; got ${shown}`);
  }
  const encoded = slash < 0 ? '' : afterSlashes.slice(slash + 1);
  if (encoded.includes('?')) {
    throw new ConfigError(field, `URL options ('?…') are not supported; got ${shown}`);
  }
  let path: string;
  try {
    path = decodeURIComponent(encoded);
  } catch {
    throw new ConfigError(field, `bad %-escape in ${shown}`);
  }
  if (path === '' || path === ':memory:') {
    throw new ConfigError(field, `an in-memory database cannot be read by 'parsl-ts monitor': name a file, as 'sqlite:///monitoring.db'; got ${shown}`);
  }
  if (path.endsWith('/')) throw new ConfigError(field, `names a folder, not a database file; got ${shown}`);
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/** The monitoring database of a run: `loggingEndpoint`'s file, else `<runDir>/monitoring.db`. */
export function monitoringDatabasePath(loggingEndpoint: string | undefined, runDir: string, cwd: string = process.cwd()): string {
  return loggingEndpoint === undefined ? resolve(cwd, join(runDir, MONITORING_DB)) : parseLoggingEndpoint(loggingEndpoint, cwd);
}

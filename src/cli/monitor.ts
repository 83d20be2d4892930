import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import { MONITORING_DB, parseLoggingEndpoint } from '../monitoring/endpoint.ts';
import { DEFAULT_RUN_DIR } from '../dataflow/run-dir.ts';

/**
 * `parsl-ts monitor [--db <file or sqlite:/// URL>] [--port <n>] [--host <address>]`: serves
 * the dashboard of a monitoring database until Ctrl-C. The default database is the one
 * runs write when no `loggingEndpoint` is set: `runinfo/monitoring.db`.
 */
export const MONITOR_USAGE = `Usage: parsl-ts monitor [--db <file>] [--port <n>] [--host <address>]

  --db <file>       The monitoring database: a path, or a loggingEndpoint URL
                    (sqlite:///relative.db, sqlite:////absolute.db).
                    Default: ${DEFAULT_RUN_DIR}/${MONITORING_DB}
  --port <n>        Port of the dashboard (0: any free port). Default: 8080
  --host <address>  Address to listen on. Default: 127.0.0.1 (this machine only)
`;

export interface MonitorOptions {
  db: string;
  port: number;
  host: string;
}

export function parseMonitorArgs(argv: readonly string[]): MonitorOptions | 'help' {
  let values: { db?: string; port?: string; host?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { db: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`monitor: ${(error as Error).message}`);
  }
  if (values.help) return 'help';
  const port = values.port === undefined ? 8080 : /^\d+$/.test(values.port) ? Number(values.port) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`monitor: --port expects a port number 0-65535; got '${values.port}'`);
  const given = values.db ?? `${DEFAULT_RUN_DIR}/${MONITORING_DB}`;
  const db = /^[A-Za-z][\w+.-]*:/.test(given) ? parseLoggingEndpoint(given) : given;
  return { db, port, host: values.host ?? '127.0.0.1' };
}

/** Runs the dashboard until SIGINT/SIGTERM; resolves to the exit status. */
export async function monitor(argv: readonly string[]): Promise<number> {
  const options = parseMonitorArgs(argv);
  if (options === 'help') {
    process.stdout.write(MONITOR_USAGE);
    return 0;
  }
  const { startDashboard } = await import('../monitoring/server.ts');
  const dashboard = await startDashboard(options);
  process.stdout.write(`parsl-ts monitor: ${options.db}\n  dashboard at ${dashboard.url}  (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await dashboard.close();
  return 0;
}

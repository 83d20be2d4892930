/**
 * Start-up timestamps, appended to the file PARSL_TS_STARTUP_TRACE names when it is set: how
 * the path from `load()` to the first result of an HTEX run was found and is checked (issue 12).
 * Times are wall-clock milliseconds (`performance.timeOrigin + performance.now()`), so the lines
 * of the driver and of its block processes (which inherit the variable) merge into one file,
 * to be sorted. Off, a mark costs one check.
 */
import { appendFileSync } from 'node:fs';

export const STARTUP_TRACE_ENV = 'PARSL_TS_STARTUP_TRACE';

const file = process.env[STARTUP_TRACE_ENV] || undefined;

/** Appends `<ms> <pid> <what>` to the trace file when tracing is on; `at` defaults to now. */
export function startupMark(what: string, at = performance.timeOrigin + performance.now()): void {
  if (file !== undefined) appendFileSync(file, `${at.toFixed(1)} ${process.pid} ${what}\n`);
}

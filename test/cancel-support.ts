// Shared by the cancel tests on threads and on HTEX.
import { existsSync, readFileSync } from 'node:fs';
import { deadline, waitFor } from './helpers.ts';

/** Flags shared with the apps of test/fixtures/cancel-apps.ts. */
export function flags(): { buffer: SharedArrayBuffer; view: Int32Array } {
  const buffer = new SharedArrayBuffer(4 * 64);
  return { buffer, view: new Int32Array(buffer) };
}

/** Resolves once flags[at] is no longer 0 (the app told us). */
export async function flagSet(view: Int32Array, at: number, what: string): Promise<number> {
  // In Node 20, not yet in TypeScript's lib for this target.
  const waitAsync = (Atomics as unknown as { waitAsync: (v: Int32Array, i: number, value: number) => { async: boolean; value: Promise<string> | string } }).waitAsync;
  const waited = waitAsync(view, at, 0);
  if (waited.async) await deadline(waited.value as Promise<string>, 60_000, what);
  return Atomics.load(view, at);
}

/** The pids a `sleeper` bash app wrote once it runs: its shell and the `sleep` it started. */
export async function sleeperPids(pidFile: string): Promise<[number, number]> {
  await waitFor(() => existsSync(pidFile), `the bash app to write ${pidFile}`);
  const [shell, sleep] = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
  return [shell!, sleep!];
}

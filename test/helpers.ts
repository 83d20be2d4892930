import { rejects } from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Fails `promise` if it has not settled within `ms` (uvu has no per-test timeout:
 * lukeed/uvu#33). A guard for a test that hangs, never a synchronisation: generous, because
 * several suites share this 2-core machine. The error is made here so that its stack points at
 * the test.
 */
export function deadline<T>(promise: PromiseLike<T>, ms = 60_000, what = 'test'): Promise<T> {
  const error = new Error(`${what} did not finish within ${ms} ms`);
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    Promise.resolve(promise).finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(error), ms);
    }),
  ]);
}

/** Asserts that `promise` rejects with an error matching `check`, and returns the error. */
export async function rejection(promise: PromiseLike<unknown>, check?: (error: any) => boolean): Promise<any> {
  let caught: unknown;
  await rejects(
    Promise.resolve(promise).catch((e: unknown) => {
      caught = e;
      throw e;
    }),
    (e: unknown) => (check ? check(e) : true),
  );
  return caught;
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = 'parsl-ts-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Resolves once `check` holds (it may be async); rejects naming `what` after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const error = new Error(`timed out waiting for ${what}`);
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw error;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a process runs (a zombie, ended but not yet reaped, does not count). */
export function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z/.test(stat);
}

/** Asks a child process to end (SIGTERM), kills it after `graceMs`, resolves once it is gone. */
export function stopChild(child: ChildProcess | undefined, graceMs = 5_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

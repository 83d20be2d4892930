import { rejects } from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Fails `promise` if it has not settled within `ms` (uvu has no per-test timeout:
 * lukeed/uvu#33). The error is made here so that its stack points at the test.
 */
export function deadline<T>(promise: PromiseLike<T>, ms = 30_000, what = 'test'): Promise<T> {
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

import { rejects } from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
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
  // Retried: a block or helper that is still ending may write a last line into it while it goes.
  return { path, remove: () => rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }) };
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

/** What a child `node` process left: its exit code and everything it printed. */
export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface NodeRunOptions {
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Written to its stdin (closed after). @default '' */
  stdin?: string;
  /** Past this the test fails and the process is killed (SIGKILL). @default 90_000 */
  timeoutMs?: number;
}

/**
 * Runs `node …args` to its end, as a user would from a shell: colours off, and without this
 * process's `PARSL_TS_CONFIG`/`THREADS`/`RETRIES` and `NODE_OPTIONS`, so that the script reads
 * only its own configuration. Never left behind: killed when the deadline fails the test.
 */
export function runNode(args: string[], options: NodeRunOptions = {}): Promise<NodeRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
  for (const name of ['PARSL_TS_CONFIG', 'PARSL_TS_THREADS', 'PARSL_TS_RETRIES', 'NODE_OPTIONS']) delete env[name];
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(options.stdin ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<NodeRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return deadline(done, options.timeoutMs ?? 90_000, `node ${args.join(' ').slice(0, 80)}`).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

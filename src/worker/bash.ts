import { access, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppTimeout, BashExitFailure, MissingOutputs } from '../common/errors.ts';
import type { BashSpec, StreamSpec } from '../wire/protocol.ts';
import { spawnBash } from './bash-spawner.ts';

/**
 * Creates (mode 'w': truncates) the file a stream goes to, here so that a path that cannot be
 * opened fails the task with the file system's own error; the command then appends to it.
 */
async function prepareStream(spec: StreamSpec | undefined): Promise<string> {
  if (!spec) return '/dev/null';
  await mkdir(dirname(spec.path), { recursive: true });
  await (await open(spec.path, spec.mode)).close();
  return spec.path;
}

/**
 * Runs a bash app's command line under bash, with stdout and stderr sent to the files the
 * app asked for. Resolves with the exit code 0; rejects with `BashExitFailure` on a non-zero
 * exit, `AppTimeout` when `walltimeMs` passes (the whole process group is killed), the
 * signal's reason when `signal` aborts (killed the same way), and `MissingOutputs` when
 * declared outputs do not exist afterwards.
 */
export async function runBash(
  command: string,
  spec: BashSpec,
  walltimeMs?: number,
  started?: (pid: number) => void,
  signal?: AbortSignal,
): Promise<number> {
  if (typeof command !== 'string') {
    throw new TypeError(`a bash app must return its command line as a string, got ${typeof command}`);
  }
  const stdoutPath = await prepareStream(spec.stdout);
  const sameFile = spec.stderr && spec.stdout && spec.stderr.path === spec.stdout.path;
  const stderrPath = sameFile ? stdoutPath : await prepareStream(spec.stderr);
  let timedOut = false;
  if (signal?.aborted) throw signal.reason;
  // The pid (and process group) arrives a little after the request: a kill asked for before
  // then is done when it arrives.
  let pid = 0;
  let killed = false;
  const killThisCommand = (): void => {
    killed = true;
    if (pid <= 0) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already ended.
    }
  };
  const timer =
    walltimeMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          killThisCommand();
        }, walltimeMs);
  signal?.addEventListener('abort', killThisCommand, { once: true });
  let exitCode: number;
  try {
    exitCode = await spawnBash(command, process.cwd(), stdoutPath, stderrPath, (childPid) => {
      pid = childPid;
      started?.(childPid);
      if (killed) killThisCommand();
    });
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', killThisCommand);
  }
  if (signal?.aborted) throw signal.reason;
  if (timedOut) throw new AppTimeout(walltimeMs!);
  if (exitCode !== 0) throw new BashExitFailure(command, exitCode);
  const missing: string[] = [];
  for (const output of spec.outputs) {
    try {
      await access(output);
    } catch {
      missing.push(output);
    }
  }
  if (missing.length > 0) throw new MissingOutputs(missing);
  return 0;
}


import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { access, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppTimeout, BashExitFailure, MissingOutputs } from '../errors.ts';
import type { BashSpec, StreamSpec } from '../actors/protocol.ts';

async function openStream(spec: StreamSpec | undefined): Promise<number | 'ignore'> {
  if (!spec) return 'ignore';
  await mkdir(dirname(spec.path), { recursive: true });
  const handle = await open(spec.path, spec.mode);
  // The child gets its own copy of the descriptor; ours is closed once it has started.
  return handle.fd;
}

/**
 * Runs a bash app's command line under bash, with stdout and stderr sent to the files the
 * app asked for. Resolves with the exit code 0; rejects with `BashExitFailure` on a non-zero
 * exit, `AppTimeout` when `walltimeMs` passes (the whole process group is killed), and
 * `MissingOutputs` when declared outputs do not exist afterwards.
 */
export async function runBash(command: string, spec: BashSpec, walltimeMs?: number): Promise<number> {
  if (typeof command !== 'string') {
    throw new TypeError(`a bash app must return its command line as a string, got ${typeof command}`);
  }
  const stdoutFd = await openStream(spec.stdout);
  const sameFile = spec.stderr && spec.stdout && spec.stderr.path === spec.stdout.path;
  const stderrFd = sameFile ? stdoutFd : await openStream(spec.stderr);
  let timedOut = false;
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn('bash', ['-c', command], {
      stdio: ['ignore', stdoutFd, stderrFd],
      // Its own process group, so that a walltime kill also reaches what the command started.
      detached: true,
    });
    const timer =
      walltimeMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              child.kill('SIGKILL');
            }
          }, walltimeMs);
    child.once('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  }).finally(() => {
    closeQuietly(stdoutFd);
    if (!sameFile) closeQuietly(stderrFd);
  });
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

function closeQuietly(fd: number | 'ignore'): void {
  if (fd === 'ignore') return;
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing to release.
  }
}

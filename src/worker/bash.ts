import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { access, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppTimeout, BashExitFailure, MissingOutputs } from '../common/errors.ts';
import type { BashSpec, StreamSpec } from '../wire/protocol.ts';

async function openStream(spec: StreamSpec | undefined): Promise<FileHandle | undefined> {
  if (!spec) return undefined;
  await mkdir(dirname(spec.path), { recursive: true });
  return open(spec.path, spec.mode);
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
  const stdoutFile = await openStream(spec.stdout);
  const sameFile = spec.stderr && spec.stdout && spec.stderr.path === spec.stdout.path;
  const stderrFile = sameFile ? stdoutFile : await openStream(spec.stderr);
  let timedOut = false;
  if (signal?.aborted) throw signal.reason;
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn('bash', ['-c', command], {
      // The child gets its own copies of the descriptors; ours are closed when it ends.
      stdio: ['ignore', stdoutFile?.fd ?? 'ignore', stderrFile?.fd ?? 'ignore'],
      // Its own process group, so that a walltime kill also reaches what the command started.
      detached: true,
    });
    if (child.pid !== undefined) started?.(child.pid);
    const killGroup = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer =
      walltimeMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            killGroup();
          }, walltimeMs);
    signal?.addEventListener('abort', killGroup, { once: true });
    const settled = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', killGroup);
    };
    child.once('error', (error) => {
      settled();
      reject(error);
    });
    child.once('close', (code, exitSignal) => {
      settled();
      resolve(code ?? (exitSignal ? 128 + (constants.signals[exitSignal] ?? 0) : 1));
    });
  }).finally(async () => {
    await stdoutFile?.close();
    if (!sameFile) await stderrFile?.close();
  });
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


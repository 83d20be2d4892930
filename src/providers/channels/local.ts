import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { ChannelTimeoutError } from './errors.ts';
import type { Channel, ExecOptions, ExecResult } from './channel.ts';

export interface LocalChannelOptions {
  /** Where submit scripts go. @default `<tmpdir>/parsl-ts-scripts` */
  scriptDir?: string;
}

/**
 * Runs commands on this machine under bash.
 *
 * @example
 * ```ts
 * new SlurmProvider({ channel: new LocalChannel() });   // the default: commands run here
 * ```
 */
export class LocalChannel implements Channel {
  readonly scriptDir: string;
  readonly description = 'local';

  constructor(options: LocalChannelOptions = {}) {
    this.scriptDir = resolve(options.scriptDir ?? join(tmpdir(), 'parsl-ts-scripts'));
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutError = options.timeoutMs === undefined ? undefined : new ChannelTimeoutError(command, options.timeoutMs, this.description);
    return new Promise((resolvePromise, reject) => {
      const child = spawn('bash', ['-c', command], {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              try {
                process.kill(-child.pid!, 'SIGKILL');
              } catch {
                child.kill('SIGKILL');
              }
              reject(timeoutError);
            }, options.timeoutMs);
      child.once('error', (error) => {
        if (timer) clearTimeout(timer);
        reject(error);
      });
      child.once('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolvePromise({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr });
      });
    });
  }

  async push(localPath: string, remoteDir: string): Promise<string> {
    await mkdir(remoteDir, { recursive: true });
    const target = join(remoteDir, basename(localPath));
    if (resolve(localPath) !== resolve(target)) await copyFile(localPath, target);
    return target;
  }

  async pull(remotePath: string, localDir: string): Promise<string> {
    return this.push(remotePath, localDir);
  }

  async makeDirs(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
  }

  async writeFile(remotePath: string, content: string, mode = 0o644): Promise<void> {
    await writeFile(remotePath, content);
    await chmod(remotePath, mode);
  }

  async close(): Promise<void> {}
}

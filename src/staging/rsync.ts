/**
 * rsync over ssh (`rsync://user@host:port/path`), with the key and known_hosts of an SSH
 * channel to that host (strict host key checking, no prompts). rsync itself writes to a
 * temporary name and renames it when complete, and checks each file's whole checksum; outputs
 * are delivered with `--mkpath`, so the remote directory is made when missing.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { shellQuote } from '../common/shell-quote.ts';
import { onceInFlight, verifyChecksum } from './download.ts';
import { StagingError } from './errors.ts';
import type { File } from './file.ts';
import { outputLocalPath, type StageOptions, type StagingProvider } from './provider.ts';
import { findChannel, remotePath, type ChannelChoice, type StagingChannel } from './ssh-channel.ts';

/**
 * Options of `RSyncStaging`: the SSH channels files travel through.
 *
 * @example
 * ```ts
 * const options: RSyncStagingOptions = { channels: [new SSHChannel({ hostname: 'data.example.org' })], rsyncPath: '/usr/bin/rsync' };
 * ```
 */
export interface RSyncStagingOptions extends ChannelChoice {
  /** Stage in the worker, before and after the app. @default true (Parsl's RSyncStaging runs in the task) */
  inTask?: boolean;
  /** The rsync program. @default 'rsync' */
  rsyncPath?: string;
}

/**
 * Parsl's `RSyncStaging`: `rsync://` files in and out with `rsync` over the SSH channel whose host matches the URL.
 *
 * @example
 * ```ts
 * const rsync = new RSyncStaging({ channels: [new SSHChannel({ hostname: 'data.example.org', username: 'jdoe' })] });
 * await stageIn(new File('rsync://jdoe@data.example.org/data/x.csv'), 'work', { storageAccess: [rsync] });
 * ```
 */
export class RSyncStaging implements StagingProvider {
  readonly name = 'RSyncStaging';
  readonly inTask: boolean;
  private readonly choice: ChannelChoice;
  private readonly rsyncPath: string;

  constructor(options: RSyncStagingOptions) {
    this.choice = options;
    this.inTask = options.inTask ?? true;
    this.rsyncPath = options.rsyncPath ?? 'rsync';
  }

  /** Whether this provider can copy `file` to where a task runs. */
  canStageIn(file: File): boolean {
    return file.scheme === 'rsync' && findChannel(this.choice, file) !== undefined;
  }
  /** Whether this provider can deliver a task's output to `file`'s URL. */
  canStageOut(file: File): boolean {
    return this.canStageIn(file);
  }

  async stageIn(file: File, workDir: string, options: StageOptions = {}): Promise<string> {
    const channel = this.channel(file, 'in');
    const target = join(workDir, file.filename);
    await onceInFlight(file, target, async () => {
      await mkdir(workDir, { recursive: true });
      await this.rsync(file, 'in', [`${remoteSpec(channel)}:${remotePath(file)}`, target], channel, options.signal);
      try {
        await verifyChecksum(file, target);
      } catch (error) {
        throw new StagingError(file.url, 'in', (error as Error).message, { cause: error });
      }
    });
    file.localPath = target;
    return target;
  }

  async stageOut(file: File, workDir: string, options: StageOptions = {}): Promise<void> {
    const channel = this.channel(file, 'out');
    await this.rsync(file, 'out', ['--mkpath', outputLocalPath(file, workDir), `${remoteSpec(channel)}:${remotePath(file)}`], channel, options.signal);
  }

  /** @internal What a worker needs to run this provider for `file` (see in-task.ts). */
  workerForm(file: File, direction: 'in' | 'out'): { channel: StagingChannel; rsyncPath: string } {
    return { channel: this.channel(file, direction), rsyncPath: this.rsyncPath };
  }

  private channel(file: File, direction: 'in' | 'out'): StagingChannel {
    const channel = findChannel(this.choice, file);
    if (!channel) throw new StagingError(file.url, direction, `${this.name} has no channel to ${file.netloc}`);
    return channel;
  }

  private rsync(file: File, direction: 'in' | 'out', args: string[], channel: StagingChannel, signal: AbortSignal | undefined): Promise<void> {
    const { port, privateKeyPath, knownHostsPath } = channel.options;
    const ssh = [
      'ssh',
      `-p ${port}`,
      ...(privateKeyPath ? [`-i ${shellQuote(privateKeyPath)}`, '-o IdentitiesOnly=yes'] : []),
      `-o UserKnownHostsFile=${shellQuote(knownHostsPath)}`,
      '-o StrictHostKeyChecking=yes',
      '-o BatchMode=yes',
    ].join(' ');
    // -t keeps modification times; --protect-args sends paths with spaces as they are;
    // --ignore-times always sends: rsync's quick check (same size, same mtime to the second)
    // would skip an output rewritten within the second it was last delivered.
    const argv = ['-t', '--ignore-times', '--protect-args', '-e', ssh, ...args];
    return new Promise<void>((resolve, reject) => {
      const child = spawn(this.rsyncPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], signal });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8192)));
      child.once('error', (error) => reject(new StagingError(file.url, direction, `rsync could not run: ${error.message}`, { cause: error })));
      child.once('close', (code, killedBy) => {
        if (code === 0) return resolve();
        const how = code === null ? `was killed by ${killedBy}` : `exited ${code}`;
        reject(new StagingError(file.url, direction, `rsync ${how}: ${stderr.trim()}`));
      });
    });
  }
}

function remoteSpec(channel: StagingChannel): string {
  return `${channel.options.username}@${channel.options.hostname.includes(':') ? `[${channel.options.hostname}]` : channel.options.hostname}`;
}

/**
 * SFTP stage-in and stage-out through an SSH channel (`sftp://user@host:port/path`). A pull
 * lands in a fresh directory under `workDir` and is renamed into place; a push lands in a fresh
 * directory beside the target and is moved into place with one `mv`: neither side ever sees a
 * half-written file under its final name.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { shellQuote } from '../common/shell-quote.ts';
import { onceInFlight, verifyChecksum } from './download.ts';
import { StagingError } from './errors.ts';
import type { File } from './file.ts';
import { outputLocalPath, type StageOptions, type StagingProvider } from './provider.ts';
import { findChannel, remotePath, type ChannelChoice, type StagingChannel } from './ssh-channel.ts';

/**
 * Options of `SFTPStaging`: the SSH channels files travel through, or a function that picks one.
 *
 * @example
 * ```ts
 * const options: SFTPStagingOptions = { channelFor: (file) => (file.hostname === 'data.example.org' ? channel : undefined) };
 * ```
 */
export interface SFTPStagingOptions extends ChannelChoice {
  /** Stage in the worker, before and after the app. @default false */
  inTask?: boolean;
}

/**
 * `sftp://` files in and out over the SFTP subsystem of the SSH channel whose host (and port, and user if the URL names one) match.
 *
 * @example
 * ```ts
 * const sftp = new SFTPStaging({ channels: [new SSHChannel({ hostname: 'data.example.org', username: 'jdoe' })] });
 * await stageOut(new File('sftp://jdoe@data.example.org/results/y.csv'), 'work', { storageAccess: [sftp] });
 * ```
 */
export class SFTPStaging implements StagingProvider {
  readonly name = 'SFTPStaging';
  readonly inTask: boolean;
  private readonly choice: ChannelChoice;

  constructor(options: SFTPStagingOptions) {
    this.choice = options;
    this.inTask = options.inTask ?? false;
  }

  /** Whether this provider can copy `file` to where a task runs. */
  canStageIn(file: File): boolean {
    return file.scheme === 'sftp' && findChannel(this.choice, file) !== undefined;
  }
  /** Whether this provider can deliver a task's output to `file`'s URL. */
  canStageOut(file: File): boolean {
    return this.canStageIn(file);
  }

  async stageIn(file: File, workDir: string, _options: StageOptions = {}): Promise<string> {
    const channel = this.channel(file, 'in');
    const target = join(workDir, file.filename);
    await onceInFlight(file, target, async () => {
      const landing = join(workDir, `.${file.filename}.part-${randomBytes(6).toString('hex')}`);
      try {
        await mkdir(landing, { recursive: true });
        const pulled = await channel.pull(remotePath(file), landing);
        await verifyChecksum(file, pulled);
        await rename(pulled, target);
      } catch (error) {
        throw wrap(file, 'in', error);
      } finally {
        await rm(landing, { recursive: true, force: true });
      }
    });
    file.localPath = target;
    return target;
  }

  async stageOut(file: File, workDir: string, _options: StageOptions = {}): Promise<void> {
    const channel = this.channel(file, 'out');
    const local = outputLocalPath(file, workDir);
    const target = remotePath(file);
    const landing = posix.join(posix.dirname(target), `.${posix.basename(target)}.part-${randomBytes(6).toString('hex')}`);
    try {
      const pushed = await channel.push(local, landing);
      const moved = await channel.exec(`mv -f -- ${shellQuote(pushed)} ${shellQuote(target)} && rmdir -- ${shellQuote(landing)}`);
      if (moved.exitCode !== 0) throw new Error(`mv into place exited ${moved.exitCode}: ${moved.stderr.trim()}`);
    } catch (error) {
      // Best effort: the landing directory is ours alone.
      await channel.exec(`rm -rf -- ${shellQuote(landing)}`).catch(() => {});
      throw wrap(file, 'out', error);
    }
  }

  private channel(file: File, direction: 'in' | 'out'): StagingChannel {
    const channel = findChannel(this.choice, file);
    if (!channel) throw new StagingError(file.url, direction, `${this.name} has no channel to ${file.netloc}`);
    return channel;
  }
}

function wrap(file: File, direction: 'in' | 'out', error: unknown): StagingError {
  if (error instanceof StagingError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return new StagingError(file.url, direction, `${message}${cause}`, { cause: error });
}

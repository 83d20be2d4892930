import { ParslError } from '../../common/errors.ts';

/**
 * A command on a channel ran longer than its timeout and was killed.
 *
 * @example
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org' });
 * try { await channel.exec('hostname'); } catch (e) { if (e instanceof ChannelTimeoutError) console.log(e.message); }
 * ```
 */
export class ChannelTimeoutError extends ParslError {
  /** The command that was killed. */
  readonly command: string;
  constructor(command: string, timeoutMs: number, where: string) {
    super(`command on ${where} did not finish within ${timeoutMs} ms: ${command}`);
    this.command = command;
  }
}

/**
 * SFTP over an SSH connection: one session per connection, shared by the transfers under way and
 * closed after a short idle time, and the small helpers the channel's file methods use.
 */
import type { SFTPWrapper } from 'ssh2';
import { ParslError } from '../../common/errors.ts';
import { ChannelClosedError, ChannelTransferError } from './ssh-errors.ts';
import type { Connection, ConnectionOwner, SftpSession } from './ssh-connection.ts';
import type { SessionSlots } from './ssh-session-slots.ts';

/** An idle SFTP session is closed after this long, giving its session slot back. */
const SFTP_IDLE_MS = 2_000;

/** Runs `work` on the connection's SFTP session (opened on first use, closed after a short idle time). */
export async function withSftp(
  owner: ConnectionOwner,
  operation: ChannelTransferError['operation'], path: string, work: (sftp: SFTPWrapper) => Promise<void>): Promise<void> {
  if (owner.isClosed()) throw new ChannelClosedError(owner.description);
  let session: SftpSession | undefined;
  try {
    for (let reconnects = 0; ; ) {
      const connection = await owner.connection();
      session = connection.sftp ??= openSftp(owner.slots, connection);
      session.users++;
      clearTimeout(session.idleTimer);
      let sftp: SFTPWrapper;
      try {
        sftp = await session.session;
      } catch (error) {
        doneWithSftp(connection, session);
        session = undefined;
        if (connection.closed && !owner.isClosed() && reconnects++ < 2) continue;
        throw error;
      }
      try {
        return await work(sftp);
      } finally {
        doneWithSftp(connection, session);
      }
    }
  } catch (error) {
    // Our own errors (closed, connect, auth, host key, config) say more than a wrapper would.
    if (error instanceof ParslError) throw error;
    throw new ChannelTransferError(operation, path, owner.description, { cause: error });
  }
}

/** Opens the connection's SFTP session; it holds a session slot until it closes. */
function openSftp(slots: SessionSlots, connection: Connection): SftpSession {
  const entry: SftpSession = { session: Promise.resolve(undefined as unknown as SFTPWrapper), users: 0, idleTimer: undefined };
  entry.session = (async () => {
    const release = await slots.acquire();
    try {
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
        try {
          connection.client.sftp((error, sftp) => (error ? reject(error) : resolve(sftp)));
        } catch (error) {
          reject(error);
        }
      });
      sftp.once('close', () => {
        release();
        if (connection.sftp === entry) connection.sftp = undefined;
      });
      return sftp;
    } catch (error) {
      release();
      if (connection.sftp === entry) connection.sftp = undefined;
      throw error;
    }
  })();
  return entry;
}

/** One user fewer; the last one leaves the session to close after `SFTP_IDLE_MS`. */
function doneWithSftp(connection: Connection, session: SftpSession): void {
  if (--session.users > 0 || connection.sftp !== session) return;
  session.idleTimer = setTimeout(() => {
    if (session.users > 0 || connection.sftp !== session) return;
    connection.sftp = undefined;
    session.session.then((sftp) => sftp.end(), () => {});
  }, SFTP_IDLE_MS);
  session.idleTimer.unref();
}

/** SFTP starts in the login directory and does not expand `~`: `~/x` becomes `x`. */
export function sftpPath(path: string): string {
  if (path === '~') return '.';
  return path.startsWith('~/') ? path.slice(2) || '.' : path;
}

export function sftpCall<T>(start: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value as T))));
}

export async function isDirectory(sftp: SFTPWrapper, path: string): Promise<boolean> {
  try {
    const attrs = await sftpCall<{ isDirectory(): boolean }>((done) => sftp.stat(path, done));
    return attrs.isDirectory();
  } catch {
    return false;
  }
}


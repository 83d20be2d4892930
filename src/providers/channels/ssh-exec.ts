/**
 * Commands over an SSH connection: the script sent to the login shell (with its watchdog), and
 * one command's run from opening its session to its exit code.
 */
import { constants as osConstants } from 'node:os';
import type { ClientChannel } from 'ssh2';
import { shellQuote } from '../../common/shell-quote.ts';
import type { ExecOptions, ExecResult } from './channel.ts';
import { ChannelClosedError, ChannelConnectError, ChannelDisconnectedError } from './ssh-errors.ts';
import type { Connection, ConnectionOwner } from './ssh-connection.ts';

/**
 * Opens an exec session and collects what the command leaves. A session that could not be
 * opened because the connection had dropped (the command never started) is tried again on a
 * new connection; one the server refused for its session limit waits for a free slot.
 */
export async function runCommand(owner: ConnectionOwner, line: string, command: string, signal: AbortSignal): Promise<ExecResult> {
  for (let reconnects = 0, refusedAlone = 0; ; ) {
    const connection = await abortable(owner.connection(), signal);
    const release = await owner.slots.acquire(signal);
    const opening = openExec(connection, line);
    let stream: ClientChannel;
    try {
      stream = await abortable(opening, signal);
    } catch (error) {
      if (signal.aborted && error === signal.reason) {
        // The session may still open and start the command: kill it then, and only then free its slot.
        opening.then(
          (late) => {
            late.once('close', release);
            stopCommand(late);
          },
          () => release(),
        );
        throw error;
      }
      release();
      const execFailed = error instanceof Error && error.message === 'Unable to exec';
      if (!execFailed && connection.closed && !owner.isClosed() && reconnects++ < 2) continue;
      if (isSessionRefused(error) && owner.slots.open > 0) {
        owner.slots.shrink();
        continue;
      }
      if (isSessionRefused(error) && refusedAlone < REFUSED_ALONE_RETRIES) {
        // Refused with none of ours open: the server has not yet freed the sessions that just
        // closed on our side (OpenSSH under load, at MaxSessions). Try again a little later.
        await abortable(new Promise((resolve) => setTimeout(resolve, 50 * 2 ** refusedAlone++).unref()), signal);
        continue;
      }
      if (owner.isClosed()) throw new ChannelClosedError(owner.description);
      if (connection.closed) throw new ChannelDisconnectedError(command, owner.description, { cause: error });
      throw new ChannelConnectError(owner.description, `could not start a session for the command: ${(error as Error).message}`, { cause: error });
    }
    // The slot is given back when the session has closed, not when a timeout rejects.
    stream.once('close', release);
    return await collect(owner, stream, connection, command, signal);
  }
}

/** What a started command leaves: its output and exit code, or why it has none. */
function collect(owner: ConnectionOwner, stream: ClientChannel, connection: Connection, command: string, signal: AbortSignal): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    stream.setEncoding('utf8');
    stream.stderr.setEncoding('utf8');
    stream.on('data', (chunk: string) => (stdout += chunk));
    stream.stderr.on('data', (chunk: string) => (stderr += chunk));
    const onAbort = (): void => {
      stopCommand(stream);
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('close', () => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return reject(signal.reason);
      const exit = exitStatuses.get(stream);
      if (exit !== undefined) return resolve({ exitCode: exit.code ?? signalExitCode(exit.signal), stdout, stderr });
      if (owner.isClosed()) return reject(new ChannelClosedError(owner.description));
      const why = connection.closed ? undefined : new Error('the server closed the session without an exit status');
      reject(new ChannelDisconnectedError(command, owner.description, why && { cause: why }));
    });
  });
}


/**
 * Stops a running command: a KILL signal request (which OpenSSH honours for non-root users), then
 * end-of-file on the session's stdin, on which the watchdog of `commandLine` kills the process group.
 */
function stopCommand(stream: ClientChannel): void {
  try {
    stream.signal('KILL');
    stream.end();
    stream.close();
  } catch {}
}

/** How often a session refused while none of ours is open is tried again (waits 50 ms, 100 ms, … 1.6 s). */
const REFUSED_ALONE_RETRIES = 6;

/** OpenSSH refuses a session beyond `MaxSessions` with "open failed" (reason 2, or 1 on some servers). */
function isSessionRefused(error: unknown): boolean {
  const reason = (error as { reason?: unknown } | undefined)?.reason;
  return error instanceof Error && /Channel open failure/.test(error.message) && (reason === 1 || reason === 2 || reason === 4);
}

/**
 * Exit statuses seen by `openExec`. A quick command's exit-status can arrive in the same read as
 * the reply to the exec request: ssh2 then emits 'exit' before `collect` (a few awaits later)
 * listens, and the status was lost ("connection lost while running: true" at load).
 */
const exitStatuses = new WeakMap<ClientChannel, { code: number | null; signal: string | undefined }>();

function openExec(connection: Connection, line: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      connection.client.exec(line, (error, stream) => {
        if (error) return reject(error);
        stream.once('exit', (code: number | null, signalName?: string) => exitStatuses.set(stream, { code, signal: signalName }));
        resolve(stream);
      });
    } catch (error) {
      // ssh2 throws 'Not connected' at once when the socket has already gone.
      reject(error);
    }
  });
}

/** Rejects with `signal.reason` as soon as it aborts; `promise` itself goes on. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The exit code a shell reports for a command killed by `signal` (e.g. 'KILL' → 137). */
function signalExitCode(signal: string | undefined): number {
  const number = signal ? (osConstants.signals as Record<string, number | undefined>)[`SIG${signal}`] : undefined;
  return 128 + (number ?? 0);
}

/**
 * The script sent to the server's login shell (POSIX sh, bash, zsh, ksh). The command runs in a
 * subshell with stdin from /dev/null, after `export K='v'` and `cd 'dir'` (if given: a failing
 * `cd` skips it). A watchdog reads the session's stdin and kills the whole process group
 * (`kill -9 0`: sshd starts each command in a session of its own) once that stdin ends, which
 * happens when the client times the command out or closes the session, or when the connection
 * drops. OpenSSH's own `signal` request is not enough: it refuses it for root logins ("session
 * signalling requires privilege separation") and ssh2 sends it only while stdin is open.
 */
export function commandLine(command: string, options: ExecOptions): string {
  const setup: string[] = [];
  const env = Object.entries(options.env ?? {});
  if (env.length > 0) setup.push(`export ${env.map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')}`);
  if (options.cwd !== undefined) setup.push(`cd ${remoteShellPath(options.cwd)}`);
  // The newline before ')' ends a trailing comment of the command; 'exit' in it leaves only the subshell.
  const run = command.trim() === '' ? ':' : `(\n${command}\n)`;
  return [
    'exec 3<&0 </dev/null',
    // An asynchronous list gets /dev/null as stdin: the watchdog reads the session through fd 3.
    '{ while read -r _ <&3; do :; done; kill -9 0; } &',
    '__parsl_ts_watchdog=$!',
    'exec 3<&-',
    setup.length > 0 ? `${setup.join(' && ')} && ${run}` : run,
    '__parsl_ts_status=$?',
    'kill $__parsl_ts_watchdog 2>/dev/null',
    'exit $__parsl_ts_status',
  ].join('\n');
}

/** A remote path for the shell, with a leading `~/` left to the shell to expand. */
function remoteShellPath(path: string): string {
  if (path === '~') return '~';
  return path.startsWith('~/') ? `~/${shellQuote(path.slice(2))}` : shellQuote(path);
}

/** Errors of the SSH channels (`SSHChannel`, `SSHInteractiveLoginChannel`). */
import { IllegalStateError, ParslError, registerErrorClasses } from '../../common/errors.ts';

/**
 * The channel could not reach the server or finish the SSH handshake (refused, DNS, timeout…).
 *
 * @example
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org' });
 * try { await channel.exec('hostname'); } catch (e) { if (e instanceof ChannelConnectError) console.log(e.where); }
 * ```
 */
export class ChannelConnectError extends ParslError {
  /** `ssh user@host:port` */
  readonly where: string;
  constructor(where: string, reason: string, options?: ErrorOptions) {
    super(`could not connect (${where}): ${reason}`, options);
    this.where = where;
  }
}

/**
 * The server accepted the connection but refused every authentication method we tried.
 *
 * @example
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org' });
 * try { await channel.exec('hostname'); } catch (e) { if (e instanceof ChannelAuthError) console.log(e.methods); }
 * ```
 */
export class ChannelAuthError extends ParslError {
  /** `user@host:port`. */
  readonly where: string;
  /** Methods tried, in order, e.g. `['publickey', 'keyboard-interactive']`. */
  readonly methods: string[];
  constructor(where: string, methods: string[], reason: string, options?: ErrorOptions) {
    const tried = methods.length > 0 ? methods.join(', ') : 'none';
    super(`authentication failed (${where}): ${reason} (methods tried: ${tried})`, options);
    this.where = where;
    this.methods = methods;
  }
}

/** Facts about a host key that every host key error carries. */
export interface HostKeyFacts {
  /** The host as known_hosts files it: `host`, or `[host]:port` off port 22. */
  host: string;
  /** Key type the server offered, e.g. `ssh-ed25519`. */
  keyType: string;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  knownHostsPath: string;
}

/**
 * Under `hostKeyPolicy: 'strict'`, the server's host key is not in known_hosts. The message
 * names the host, the key's SHA256 fingerprint and the file, and gives the line to add.
 *
 * @example
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org' });
 * try { await channel.exec('hostname'); } catch (e) { if (e instanceof HostKeyUnknownError) console.log(e.knownHostsLine); }
 * ```
 */
export class HostKeyUnknownError extends ParslError {
  /** The server, `host` or `[host]:port` as known_hosts writes it. */
  readonly host: string;
  /** The key's type, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** The key's SHA256 fingerprint, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  /** The known_hosts file that was read. */
  readonly knownHostsPath: string;
  /** The known_hosts line that would trust this key. */
  readonly knownHostsLine: string;
  constructor(facts: HostKeyFacts, knownHostsLine: string, port: number, hostname: string) {
    const scan = `ssh-keyscan -p ${port} -t ${facts.keyType} ${hostname} >> ${facts.knownHostsPath}`;
    super(
      `host key of ${facts.host} is not known: the server offered ${facts.keyType} key ${facts.fingerprint}, ` +
        `which is not in ${facts.knownHostsPath}. Check that fingerprint against the server's ` +
        `(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on it), then add this line to ${facts.knownHostsPath}:\n` +
        `  ${knownHostsLine}\n` +
        `(or run: ${scan}; or connect once with ssh; or set hostKeyPolicy: 'accept-new' to trust it on first use)`,
    );
    this.host = facts.host;
    this.keyType = facts.keyType;
    this.fingerprint = facts.fingerprint;
    this.knownHostsPath = facts.knownHostsPath;
    this.knownHostsLine = knownHostsLine;
  }
}

/**
 * known_hosts holds a different key for this host: the server's key was replaced, or someone is
 * in the middle. Refused under every policy, `'accept-new'` included.
 *
 * @example
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org' });
 * try { await channel.exec('hostname'); } catch (e) { if (e instanceof HostKeyChangedError) console.log(e.lines); }
 * ```
 */
export class HostKeyChangedError extends ParslError {
  /** The server, `host` or `[host]:port` as known_hosts writes it. */
  readonly host: string;
  /** The key's type, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** The key's SHA256 fingerprint, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  /** The known_hosts file that was read. */
  readonly knownHostsPath: string;
  /** Lines of known_hosts that hold the other key(s). */
  readonly lines: number[];
  constructor(facts: HostKeyFacts, known: Array<{ line: number; keyType: string; fingerprint: string }>) {
    const was = known.map((k) => `${k.keyType} ${k.fingerprint} (line ${k.line})`).join(', ');
    super(
      `HOST KEY CHANGED for ${facts.host}: the server offered ${facts.keyType} key ${facts.fingerprint}, ` +
        `but ${facts.knownHostsPath} holds ${was} for it. Someone may be intercepting the connection, or the ` +
        `host's key was replaced. If the new key is expected, remove the old entry ` +
        `(ssh-keygen -R '${facts.host}' -f ${facts.knownHostsPath}) and connect again.`,
    );
    this.host = facts.host;
    this.keyType = facts.keyType;
    this.fingerprint = facts.fingerprint;
    this.knownHostsPath = facts.knownHostsPath;
    this.lines = known.map((k) => k.line);
  }
}

/**
 * The server's host key is marked `@revoked` in known_hosts.
 *
 * @example
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org' });
 * try { await channel.exec('hostname'); } catch (e) { if (e instanceof HostKeyRevokedError) console.log(e.fingerprint); }
 * ```
 */
export class HostKeyRevokedError extends ParslError {
  /** The server, `host` or `[host]:port` as known_hosts writes it. */
  readonly host: string;
  /** The key's SHA256 fingerprint, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  /** The known_hosts file that was read. */
  readonly knownHostsPath: string;
  constructor(facts: HostKeyFacts, line: number) {
    super(
      `host key of ${facts.host} is revoked: the server offered ${facts.keyType} key ${facts.fingerprint}, ` +
        `which ${facts.knownHostsPath} marks @revoked (line ${line})`,
    );
    this.host = facts.host;
    this.fingerprint = facts.fingerprint;
    this.knownHostsPath = facts.knownHostsPath;
  }
}

/**
 * The connection dropped while a command was running. The command may or may not have run to
 * its end on the server, so it is not retried; the next call opens a new connection.
 *
 * @example
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org' });
 * try { await channel.exec('hostname'); } catch (e) { if (e instanceof ChannelDisconnectedError) console.log(e.command); }
 * ```
 */
export class ChannelDisconnectedError extends ParslError {
  /** The command that was running. */
  readonly command: string;
  constructor(command: string, where: string, options?: ErrorOptions) {
    super(`connection lost (${where}) while running: ${command}`, options);
    this.command = command;
  }
}

/**
 * A call on a channel after its `close()`.
 *
 * @example
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org' });
 * try { await channel.exec('hostname'); } catch (e) { if (e instanceof ChannelClosedError) console.log(e.message); }
 * ```
 */
export class ChannelClosedError extends IllegalStateError {
  constructor(where: string) {
    super(`channel is closed (${where})`);
  }
}

/**
 * An SFTP operation (push, pull, writeFile, makeDirs) failed.
 *
 * @example
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org' });
 * try { await channel.exec('hostname'); } catch (e) { if (e instanceof ChannelTransferError) console.log(e.operation, e.path); }
 * ```
 */
export class ChannelTransferError extends ParslError {
  /** The SFTP operation that failed. */
  readonly operation: 'push' | 'pull' | 'writeFile' | 'makeDirs';
  /** The path it was working on. */
  readonly path: string;
  constructor(operation: ChannelTransferError['operation'], path: string, where: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`${operation} ${path} failed (${where})${reason}`, options);
    this.operation = operation;
    this.path = path;
  }
}

/**
 * A keyboard-interactive prompt could not be answered (no callback and no terminal, or the callback failed).
 *
 * @example
 * ```ts
 * const channel = new SSHChannel({ hostname: 'login.cluster.org' });
 * try { await channel.exec('hostname'); } catch (e) { if (e instanceof LoginPromptError) console.log(e.message); }
 * ```
 */
export class LoginPromptError extends ParslError {}

registerErrorClasses(
  ChannelConnectError,
  ChannelAuthError,
  HostKeyUnknownError,
  HostKeyChangedError,
  HostKeyRevokedError,
  ChannelDisconnectedError,
  ChannelClosedError,
  ChannelTransferError,
  LoginPromptError,
);

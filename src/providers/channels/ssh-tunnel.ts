/**
 * A reverse tunnel over an `SSHChannel`: for a driver the sites cannot reach (a laptop behind
 * NAT). The remote sshd listens on `remoteHost:remotePort` (its loopback by default); every
 * connection made there is carried back over the SSH connection and piped to `target` on this
 * side, the hub's leaf-node listener. A site's leaf dials `nats://127.0.0.1:remotePort` and
 * reaches the hub; no port opens anywhere but the site's own sshd.
 *
 * The remote port is fixed, so a leaf that redials after a drop finds the tunnel where it was.
 * When the SSH connection drops, the tunnel opens a new one through the channel and binds the
 * port again, retrying until `close()`.
 *
 * ```ts
 * const tunnel = await ReverseTunnel.open(channel, { remotePort: 7422, target: { host: '127.0.0.1', port: hubLeafPort } });
 * // on the site: leafnodes { remotes: [ { url: "nats://USER:PASS@127.0.0.1:7422" } ] }
 * await tunnel.close();
 * ```
 */
import { EventEmitter } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Client as SSHClient, ClientChannel, TcpConnectionDetails } from 'ssh2';
import { ConfigError } from '../../common/errors.ts';
import type { SSHChannel } from './ssh.ts';

export interface ReverseTunnelOptions {
  /** The port the remote sshd listens on for the tunnel: fixed, so leaves find it again after a drop. */
  remotePort: number;
  /** The address the remote sshd binds. @default '127.0.0.1' (only processes on the remote host can use it) */
  remoteHost?: string;
  /** Where each connection goes on this side: the hub's leaf-node listener. */
  target: { host: string; port: number };
  /** Wait between attempts to open the tunnel again after a drop. @default 500 */
  retryMs?: number;
}

/**
 * Events: `'up'` (the remote port is bound; again after every reopen), `'down'` (the SSH
 * connection under it dropped), `'error'`-free: a failed reopen is retried, its error in `lastError`.
 */
export class ReverseTunnel extends EventEmitter {
  readonly options: Required<ReverseTunnelOptions>;
  readonly #channel: SSHChannel;
  #client: SSHClient | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  readonly #pipes = new Set<{ stream: ClientChannel; socket: Socket }>();
  /** How many times the tunnel was bound (1 until the first drop). */
  opened = 0;
  /** Connections carried so far. */
  accepted = 0;
  lastError: Error | undefined;

  private constructor(channel: SSHChannel, options: ReverseTunnelOptions) {
    super();
    if (!Number.isInteger(options.remotePort) || options.remotePort < 1 || options.remotePort > 65_535) {
      throw new ConfigError('remotePort', `must be a fixed port 1-65535; got ${options.remotePort}`);
    }
    this.#channel = channel;
    this.options = { remoteHost: '127.0.0.1', retryMs: 500, ...options };
  }

  /** Binds the remote port and starts carrying connections; rejects if the first bind fails. */
  static async open(channel: SSHChannel, options: ReverseTunnelOptions): Promise<ReverseTunnel> {
    const tunnel = new ReverseTunnel(channel, options);
    await tunnel.#bind();
    return tunnel;
  }

  /** True while the remote port is bound on a live connection. */
  get up(): boolean {
    return this.#client !== undefined;
  }

  async #bind(): Promise<void> {
    const client = await this.#channel.sshClient();
    if (this.#closed) return;
    const { remoteHost, remotePort } = this.options;
    const onConnection = (details: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void): void => {
      if (details.destPort !== remotePort || this.#closed) return reject();
      this.#carry(accept());
    };
    client.on('tcp connection', onConnection);
    try {
      await new Promise<void>((resolve, reject) => client.forwardIn(remoteHost, remotePort, (error) => (error ? reject(error) : resolve())));
    } catch (error) {
      client.removeListener('tcp connection', onConnection);
      throw error;
    }
    client.once('close', () => {
      client.removeListener('tcp connection', onConnection);
      if (this.#client !== client) return;
      this.#client = undefined;
      this.emit('down');
      this.#scheduleReopen();
    });
    this.#client = client;
    this.opened++;
    this.emit('up');
  }

  #scheduleReopen(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#bind().catch((error: Error) => {
        // The old session may still hold the port on the server for a moment, or the host is away: again.
        this.lastError = error;
        this.#scheduleReopen();
      });
    }, this.options.retryMs);
  }

  #carry(stream: ClientChannel): void {
    this.accepted++;
    const socket = tcpConnect(this.options.target);
    socket.setNoDelay(true);
    const pipe = { stream, socket };
    this.#pipes.add(pipe);
    const end = (): void => {
      if (!this.#pipes.delete(pipe)) return;
      socket.destroy();
      stream.destroy();
    };
    socket.on('error', end).on('close', end);
    stream.on('error', end).on('close', end);
    stream.pipe(socket).pipe(stream);
  }

  /** Stops carrying: unbinds the remote port and ends every carried connection. The channel stays open. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    for (const { stream, socket } of this.#pipes) {
      socket.destroy();
      stream.destroy();
    }
    this.#pipes.clear();
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    await new Promise<void>((resolve) => {
      try {
        client.unforwardIn(this.options.remoteHost, this.options.remotePort, () => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/**
 * The embedded nats-server of an HTEX run, started anew or (a resumed run) again on the port,
 * login and JetStream store of the driver before it, so that the blocks that outlived that
 * driver reconnect to it: their NATS client redials the same URL forever (nats/connection.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { NatsServer, NatsServerError, type NatsServerOptions } from '../../nats/server.ts';
import { startupMark } from '../../common/startup-trace.ts';

/** How long a resumed driver waits for the killed driver's server to be gone (it flushes its store on SIGTERM). */
const OLD_SERVER_GONE_MS = 15_000;
/** How long it tries the old port (the kernel may hold it briefly after the old server's exit). */
const SAME_PORT_MS = 5_000;
const RETRY_MS = 100;

/** Where the server was: what a resumed driver restarts it with. */
export interface ServerPlace {
  port: number;
  pid: number | undefined;
}

/** An embedded server with the run's login. */
export interface ServerWithLogin {
  server: NatsServer;
  auth: { user: string; password: string };
}

/** A credential for this run only: whoever can publish tasks can run code on the workers. */
export function newRunLogin(): { user: string; password: string } {
  return { user: 'parsl', password: randomBytes(24).toString('base64url') };
}

/**
 * Starts the server of a new run (no site, not resumed) with a new login, its store in `dir`
 * (made if missing). The lazy HTEX manager calls it while the manager's module still loads
 * (executor-htex-lazy.ts): the server's start then runs beside that load, not after it.
 */
export async function startNewRunServer(dir: string): Promise<ServerWithLogin> {
  const auth = newRunLogin();
  mkdirSync(dir, { recursive: true });
  startupMark('nats-server: start ahead');
  const server = await NatsServer.start({ auth, dir });
  startupMark('nats-server: up ahead');
  return { server, auth };
}

/**
 * Starts the server with its store in `dir`. With `place`, on the same port once the old server
 * is gone; if the port stays taken, on a new one, with a warning (blocks of the driver before
 * cannot reconnect then, and their tries run again).
 */
export async function startEmbeddedServer(
  auth: { user: string; password: string },
  dir: string | undefined,
  place: ServerPlace | undefined,
  /** More of the server's options (a site's hub: its domain, accounts and leaf-node listener). */
  more: Partial<NatsServerOptions> = {},
): Promise<NatsServer> {
  if (place === undefined) return NatsServer.start({ ...more, auth, dir });
  if (place.pid !== undefined) await until(() => !alive(place.pid!), OLD_SERVER_GONE_MS);
  const end = Date.now() + SAME_PORT_MS;
  for (;;) {
    try {
      return await NatsServer.start({ ...more, auth, dir, port: place.port });
    } catch (error) {
      if (!(error instanceof NatsServerError) || Date.now() > end) {
        process.emitWarning(
          `the NATS server of the resumed run could not start on its port ${place.port} again (${(error as Error).message.split('\n')[0]}); ` +
            `starting it on another: blocks of the driver before cannot reconnect, and their tries run again`,
          { code: 'PARSL_TS_RESUME' },
        );
        return NatsServer.start({ ...more, auth, dir });
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
}

import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { lazySchema, z } from '../common/zod.ts';
import { cjsExports } from '../common/cjs-exports.ts';

/** Fields of the NATS connection options. */
export const natsConnectionShape = lazySchema(() =>
  ({
    /** Server URLs, e.g. `nats://login1:4222`. */
    servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** User and password login. */
    user: z.string().min(1).optional(),
    /** The password of `user`. */
    password: z.string().min(1).optional(),
    /** Token login. */
    token: z.string().min(1).optional(),
    /** NKey login: the seed (starts with `SU`). */
    nkeySeed: z.string().min(1).optional(),
    /** JWT login: a `.creds` file. */
    credsFile: z.string().min(1).optional(),
    /** TLS: files of the CA, and of a client certificate and key for mutual TLS. */
    tls: z
      .object({ caFile: z.string().optional(), certFile: z.string().optional(), keyFile: z.string().optional() })
      .strict()
      .optional(),
  }),
);

type Credentials = { user?: string | undefined; password?: string | undefined; token?: string | undefined; nkeySeed?: string | undefined; credsFile?: string | undefined };

/** Adds the rules between credential fields to a schema that has them. */
export function withCredentialRules<S extends z.ZodType<Credentials>>(schema: S): S {
  return schema
    .refine((o) => (o.user === undefined) === (o.password === undefined), {
      message: "'user' and 'password' go together",
      path: ['password'],
    })
    .refine((o) => [o.user, o.token, o.nkeySeed, o.credsFile].filter((v) => v !== undefined).length <= 1, {
      message: "'user'/'password', 'token', 'nkeySeed' and 'credsFile' are mutually exclusive",
    }) as S;
}

/** How to reach and log in to a NATS server: what the DFK uses, and what blocks are given. */
export const natsConnectionSchema = lazySchema(() => withCredentialRules(z.object(natsConnectionShape).strict()));

export type NatsConnectionOptions = z.output<typeof natsConnectionSchema>;

/** Name of the environment variable through which a block receives its connection options. */
export const NATS_ENV = 'PARSL_TS_NATS';

/**
 * Connects with reconnection for as long as it takes (a server restart must not end a run),
 * waiting 100 ms between tries.
 */
export async function connectNats(options: NatsConnectionOptions, name: string): Promise<NatsConnection> {
  // Loaded on first use (~170 ms with JetStream): a thread-pool user never needs it.
  const { connect, credsAuthenticator, nkeyAuthenticator } = cjsExports(await import('@nats-io/transport-node'));
  const servers = Array.isArray(options.servers) ? options.servers : [options.servers];
  const authenticator = options.nkeySeed
    ? nkeyAuthenticator(new TextEncoder().encode(options.nkeySeed))
    : options.credsFile
      ? credsAuthenticator(readFileSync(options.credsFile))
      : undefined;
  return connect({
    servers,
    name,
    user: options.user,
    pass: options.password,
    token: options.token,
    authenticator,
    tls: options.tls,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    pingInterval: 5_000,
    waitOnFirstConnect: false,
    // Without this, every request (each JetStream publish) captures a stack trace up front
    // for the error it might never raise.
    noAsyncTraces: true,
  });
}

type Unrefable = { unref?: () => unknown } | undefined;

/**
 * Lets the process end while `nc` and `consumers` (the iterators of `consume()`) are open: the
 * DFK's connection must not keep a driver alive whose script is done (the kernel holds the
 * process while tasks are outstanding, and closes the connection when the driver ends). nats.js
 * has no option for this: its socket, its ping timer and each consumer's idle-heartbeat timer
 * are reached through its internals, checked at run time, now and after each reconnect. Should
 * they change, a driver ends late (test/driver-exit.test.ts notices), never wrongly.
 */
export function releaseProcessHold(nc: NatsConnection, ...consumers: unknown[]): void {
  const protocol = (nc as unknown as { protocol?: { transport?: { socket?: Unrefable }; heartbeats?: unknown } }).protocol;
  keepTimerUnref(protocol?.heartbeats);
  for (const consumer of consumers) keepTimerUnref((consumer as { monitor?: unknown } | undefined)?.monitor);
  const unrefSocket = (): void => void protocol?.transport?.socket?.unref?.();
  unrefSocket();
  void (async () => {
    for await (const status of nc.status()) if (status.type === 'reconnect') unrefSocket();
  })();
}

/** Unrefs the `timer` of a nats.js timer owner now and each time its `_schedule` sets a new one. */
function keepTimerUnref(owner: unknown): void {
  const o = owner as { timer?: Unrefable; _schedule?: (...args: unknown[]) => unknown } | undefined | null;
  if (!o || typeof o._schedule !== 'function') return;
  const schedule = o._schedule;
  o._schedule = (...args: unknown[]) => {
    const result = schedule.apply(o, args);
    o.timer?.unref?.();
    return result;
  };
  o.timer?.unref?.();
}

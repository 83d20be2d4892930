/**
 * The HTEX manager's NATS side: starts (or reaches) the server, creates the run's streams and
 * consumers, subscribes to registrations, direct results and heartbeats, and reads the
 * results stream. What arrives is handed to the manager through `NatsHandlers`.
 */
import { mkdirSync } from 'node:fs';
import { jetstream, jetstreamManager, AckPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { connectNats, releaseProcessHold, type NatsConnectionOptions } from '../../nats/connection.ts';
import type { NatsServer } from '../../nats/server.ts';
import { newRunLogin, startEmbeddedServer, type ServerPlace, type ServerWithLogin } from './embedded-server.ts';
import {
  BLOCK_CONSUMER,
  blockHeartbeatSchema,
  blockReportSchema,
  decodeBinary,
  decodeJson,
  encodeJson,
  registrationSchema,
  type BlockReport,
  type Registration,
  type RegistrationReply,
  type Subjects,
  type WorkerSampleMessage,
  wantedSchema,
  type WantedMessage,
} from '../../nats/protocol.ts';
import type { ResolvedHighThroughputExecutorOptions } from '../../executors/htex.ts';
import { dropObjectRoute, registerObjectRoute } from '../../staging/object-routes.ts';
import { within } from '../../common/within.ts';
import { blockSiteConnection, dfkSiteConnection, hubServerOptions, openSiteSide, siteJetStream } from './site-nats.ts';
import { startupMark } from '../../common/startup-trace.ts';

/** Durable consumer through which the DFK reads the results stream. */
export const DFK_CONSUMER = 'dfk';
/** How long JetStream waits for a block's ack before handing a batch to another block. */
const TASK_ACK_WAIT_MS = 30_000;
/** How long a result read and not acked waits before it is handed out again. */
const RESULT_ACK_WAIT_MS = 10_000;
/** How long a shutdown tries to delete a run's streams at a site out of reach. */
const OUT_OF_REACH_DELETE_MS = 1_000;
const OK = new Uint8Array([1]);

/** The run's NATS resources, once started. */
export interface Connected {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The embedded server, when the executor started its own. */
  server: NatsServer | undefined;
  /** What blocks are given to connect. */
  blockConnection: NatsConnectionOptions;
  subscriptions: Subscription[];
  stopConsuming: () => void;
  /** The run's streams are at a site (its leaf's JetStream), not in the embedded server's store. */
  siteStreams?: boolean;
  /** What the executor opened at the site: its SSH reverse tunnel, its leaf (`site.tunnel`, `site.startLeaf`). */
  siteSide?: { close(): Promise<void> } | undefined;
  /** The executor's label, under which the driver reaches its object store (`nats://` files). */
  label?: string;
}

/** Where what arrives over NATS goes (each handler sends a message to the manager actor). */
export interface NatsHandlers {
  register(registration: Registration, respond: (reply: RegistrationReply) => void): void;
  /** A block's report; `ack` once the manager has taken it. */
  report(report: BlockReport, ack: () => void): void;
  heartbeat(blockId: string, inFlight: number, workers: WorkerSampleMessage[] | undefined): void;
  /** A block asks which tries of a batch delivered again are still wanted. */
  wanted(blockId: string, tries: WantedMessage['tries'], respond: (wanted: WantedMessage['tries']) => void): void;
}

/** Starts (or reaches) the NATS server, creates the run's streams and subscriptions. */
export async function startNats(
  runId: string,
  subjects: Subjects,
  options: ResolvedHighThroughputExecutorOptions,
  handlers: NatsHandlers,
  /** Where the embedded server keeps its store and log (`<run dir>/nats/<label>`); made if missing. */
  storeDir?: string,
  /** Ends the wait for a site's leaf node (the manager is stopping). */
  signal?: AbortSignal,
  /** A resumed run: the embedded server starts again where the driver before had it (htex/adopt.ts). */
  resume?: ServerPlace & { user: string; password: string },
  /** The server of a new run, started already (`startNewRunServer`): used instead of starting one. */
  early?: Promise<ServerWithLogin>,
): Promise<Connected> {
  const site = options.site;
  let server: NatsServer | undefined;
  let connection: NatsConnectionOptions;
  if (options.nats.servers === undefined) {
    let user: string;
    let password: string;
    if (early) {
      ({ server, auth: { user, password } } = await early);
    } else {
      ({ user, password } = resume ?? newRunLogin());
      if (storeDir !== undefined) mkdirSync(storeDir, { recursive: true });
      startupMark('nats-server: start');
      server = await startEmbeddedServer({ user, password }, storeDir, resume, site && hubServerOptions(site));
    }
    connection = site ? dfkSiteConnection(site, server.url) : { servers: [server.url], user, password };
  } else {
    connection = { ...options.nats, servers: options.nats.servers };
  }
  let nc: NatsConnection | undefined;
  let siteSide: Connected['siteSide'];
  try {
    siteSide = site && (await openSiteSide(site, options.provider));
    startupMark('nats-server: up');
    nc = await connectNats(connection, `parsl-ts dfk ${runId} ${options.label}`);
    startupMark('dfk: connected');
    const { js, jsm } = site
      ? // The run's streams live at the site, in its JetStream domain: a cut delays, never loses.
        await siteJetStream(nc, site, signal, (jsm) => createStreams(jsm, subjects))
      : { js: jetstream(nc), jsm: await jetstreamManager(nc) };
    if (!site) await createStreams(jsm, subjects);
    startupMark('dfk: streams made');
    const subscriptions = subscribe(nc, subjects, handlers);
    const consumer = await js.consumers.get(subjects.resultStream, DFK_CONSUMER);
    const messages = await consumer.consume({ max_messages: 1024 });
    // The driver's process must be able to end while this connection is open (kernel/driver-exit.ts).
    releaseProcessHold(nc, messages);
    void (async () => {
      for await (const msg of messages) {
        try {
          handlers.report(decodeBinary(msg.data, blockReportSchema, `block report #${msg.seq}`), () => msg.ack());
        } catch (e) {
          process.emitWarning(`rejected ${(e as Error).message}`);
          msg.term();
        }
      }
    })();
    const blockConnection = site ? blockSiteConnection(site) : connection;
    // Where the blocks' object store is (their site's domain): `nats://` files are relayed through it.
    registerObjectRoute(options.label, { js, jsm });
    startupMark('dfk: consuming results');
    return { nc, js, jsm, server, blockConnection, siteStreams: site !== undefined, siteSide, subscriptions, stopConsuming: () => void messages.close(), label: options.label };
  } catch (error) {
    await nc?.close().catch(() => {});
    await siteSide?.close();
    await server?.stop();
    throw error;
  }
}

async function createStreams(jsm: JetStreamManager, subjects: Subjects): Promise<void> {
  for (const [name, subject] of [
    [subjects.taskStream, subjects.tasks],
    [subjects.resultStream, subjects.results],
  ] as const) {
    await jsm.streams.add({
      name,
      subjects: [subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: 120_000_000_000,
    });
  }
  await jsm.consumers.add(subjects.taskStream, {
    durable_name: BLOCK_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    ack_wait: TASK_ACK_WAIT_MS * 1_000_000,
    max_ack_pending: 100_000,
    max_waiting: 4096,
  });
  await jsm.consumers.add(subjects.resultStream, {
    durable_name: DFK_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    // Results are acked once the DFK has committed them (let-go.ts): those a killed driver read
    // and never committed come back to the resumed driver this soon, well within the blocks'
    // heartbeat threshold, after which it would give their tries up and run them again.
    ack_wait: RESULT_ACK_WAIT_MS * 1_000_000,
    max_ack_pending: 100_000,
  });
}

function subscribe(nc: NatsConnection, subjects: Subjects, handlers: NatsHandlers): Subscription[] {
  const register = nc.subscribe(subjects.register, {
    callback: (error, msg) => {
      if (error) return;
      try {
        const registration = decodeJson(msg.data, registrationSchema, 'block registration');
        handlers.register(registration, (reply) => msg.respond(encodeJson(reply)));
      } catch (e) {
        process.emitWarning(`rejected a block registration: ${(e as Error).message}`);
        msg.respond(encodeJson({ ok: false, error: (e as Error).message }));
      }
    },
  });
  const directResults = nc.subscribe(subjects.directResults, {
    callback: (error, msg) => {
      if (error) return;
      try {
        const report = decodeBinary(msg.data, blockReportSchema, 'direct block report');
        // Answered once the manager has taken it: only then may the block acknowledge its batch.
        handlers.report(report, () => msg.respond(OK));
      } catch (e) {
        process.emitWarning(`rejected ${(e as Error).message}`);
      }
    },
  });
  const heartbeats = nc.subscribe(subjects.allBlockHeartbeats, {
    callback: (error, msg) => {
      if (error) return;
      try {
        const beat = decodeJson(msg.data, blockHeartbeatSchema, 'block heartbeat');
        handlers.heartbeat(beat.blockId, beat.inFlight, beat.workers);
      } catch (e) {
        process.emitWarning(`rejected a block heartbeat: ${(e as Error).message}`);
      }
    },
  });
  const wanted = nc.subscribe(subjects.wanted, {
    callback: (error, msg) => {
      if (error) return;
      try {
        const { blockId, tries } = decodeJson(msg.data, wantedSchema, 'question about tries still wanted');
        handlers.wanted(blockId ?? '', tries, (still) => msg.respond(encodeJson({ tries: still })));
      } catch (e) {
        process.emitWarning(`rejected ${(e as Error).message}`);
      }
    },
  });
  return [register, directResults, heartbeats, wanted];
}

/**
 * Ends what `startNats` began: consumers, subscriptions, the connection and the embedded
 * server. On a shared server, or at a site, the run's streams are deleted, so nothing of it stays behind.
 */
export async function stopNats(connected: Connected, subjects: Subjects, siteInReach = true): Promise<void> {
  connected.stopConsuming();
  for (const sub of connected.subscriptions) sub.unsubscribe();
  if (connected.label !== undefined) await dropObjectRoute(connected.label);
  if (!connected.server || connected.siteStreams) {
    const streams = [subjects.taskStream, subjects.resultStream];
    const deleted = Promise.all(streams.map((name) => connected.jsm.streams.delete(name).catch(() => false)));
    // A site out of reach cannot answer: a shutdown does not wait the request timeout for each stream.
    if (siteInReach) await deleted;
    else {
      await within(deleted, OUT_OF_REACH_DELETE_MS, () =>
        process.emitWarning(`streams ${streams.join(', ')} are left at the site: it was out of reach at shutdown`, { code: 'PARSL_TS_SITE_LOST' }),
      );
    }
  }
  await connected.nc.close().catch(() => {});
  await connected.siteSide?.close();
  await connected.server?.stop();
}

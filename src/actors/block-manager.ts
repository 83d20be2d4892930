/**
 * The block manager: the process a provider starts on each node of a block (Parsl's
 * `process_worker_pool`). It connects to NATS, registers, heartbeats, pulls task batches from
 * the JetStream work queue up to its capacity, runs them on worker actors (the same worker
 * code as the thread executor) and sends results back in batches. A batch is acknowledged
 * only once its results are stored, so a block that dies loses nothing. This file is the
 * process side (connection, registration, subscriptions, signals, teardown); the actor that
 * holds and runs the batches is in block-manager-actor.ts, the node-side helpers (pulling,
 * heartbeats, registration, reports) in src/block/; `parsl-ts block` (src/cli/block.ts) is
 * the process entry.
 */
import { hostname, availableParallelism } from 'node:os';
import { jetstream } from '@nats-io/jetstream';
import { spawnBehaviour, send, startActorSystem, stopActor } from './actor.ts';
import { connectNats, type NatsConnectionOptions } from '../nats/connection.ts';
import { within } from '../common/within.ts';
import { controlSchema, decodeJson, encodeJson, subjectsFor } from '../nats/protocol.ts';
import { PullBudget } from '../block/pull-budget.ts';
import { pullBatches } from '../block/pull-loop.ts';
import { startHeartbeats } from '../block/heartbeats.ts';
import { register } from '../block/register.ts';
import { ResourceSampler } from '../block/resources.ts';
import { BlockManager, blockManagers, type BlockManagerContext, type ToBlock } from './block-manager-actor.ts';
import { prestartWorkerThreads } from '../worker/spawn.ts';
import { startupMark } from '../common/startup-trace.ts';

export { BLOCK_CONSUMER } from '../nats/protocol.ts';

/** How long each step of a block's teardown may take (the server may be gone for good). */
const TEARDOWN_MS = 5_000;

export interface BlockManagerOptions {
  runId: string;
  label: string;
  blockId: string;
  nats: NatsConnectionOptions;
  /** Workers on this node. @default cores / coresPerWorker */
  maxWorkers?: number | undefined;
  coresPerWorker: number;
  /** Tries each worker thread runs at once; each counts as a worker. @default 1 */
  tasksPerWorker?: number | undefined;
  /** Task batches held beyond one per worker. */
  prefetchCapacity: number;
  heartbeatPeriodMs: number;
  heartbeatThresholdMs: number;
  /** Overrides the version this block reports (tests of the version check). */
  packageVersion?: string | undefined;
  log?: (line: string) => void;
}

/** Runs a block manager until it is drained, shut down, or the DFK is gone. Resolves with the exit code. */
export async function runBlockManager(options: BlockManagerOptions): Promise<number> {
  startupMark('block process: start', performance.timeOrigin);
  startupMark('block: bundle loaded');
  const log = options.log ?? ((line: string) => process.stderr.write(`[block ${options.blockId}] ${line}\n`));
  const subjects = subjectsFor(options.runId, options.label);
  const threads = Math.max(1, Math.min(options.maxWorkers ?? Infinity, Math.floor(availableParallelism() / options.coresPerWorker)));
  const tasksPerWorker = options.tasksPerWorker ?? 1;
  // The DFK sees every slot as a worker: its placement and the strategy count slots.
  const workers = threads * tasksPerWorker;
  // The worker threads boot (25–50 ms each) while NATS connects and the block registers.
  prestartWorkerThreads(threads);
  const nc = await connectNats(options.nats, `parsl-ts block ${options.blockId}`);
  startupMark('block: connected');
  try {
    const answer = await register(
      nc,
      subjects,
      { blockId: options.blockId, workers, thresholdMs: options.heartbeatThresholdMs, packageVersion: options.packageVersion },
      log,
    );
    if (!answer.ok) {
      log(`registration refused: ${answer.error}`);
      return 3;
    }
    startupMark('block: registered');
    log(`registered with the DFK: ${workers} workers (${threads} threads × ${tasksPerWorker}) on ${hostname()}, pid ${process.pid}`);
    const system = startActorSystem();
    let finished!: (code: number) => void;
    const done = new Promise<number>((resolve) => (finished = resolve));
    const budget = new PullBudget(workers + options.prefetchCapacity);
    const interval = answer.resourceMonitoringIntervalMs;
    const resources =
      interval === undefined
        ? undefined
        : new ResourceSampler(nc, subjects, { blockId: options.blockId, intervalMs: interval, log, sample: () => blockManagers.get(manager)?.sample() ?? Promise.resolve([]) });
    const context: BlockManagerContext = { nc, subjects, blockId: options.blockId, threads, tasksPerWorker, log, finished, budget, resources };
    const manager = spawnBehaviour<ToBlock, BlockManager>(system, 'block-manager', (ctx) => new BlockManager(ctx.self, context), {
      onChildCrash: (child, error, ctx) => blockManagers.get(ctx.self)?.childCrashed(child, error, ctx) ?? (ctx.resetChild as symbol),
    });
    const stopPulling = pullBatches(jetstream(nc), subjects, budget, (msg) => send(manager, { type: 'batch', msg }), log);
    const stopHeartbeats = startHeartbeats(nc, subjects, {
      blockId: options.blockId,
      heartbeatPeriodMs: options.heartbeatPeriodMs,
      heartbeatThresholdMs: options.heartbeatThresholdMs,
      inFlight: () => blockManagers.get(manager)?.inFlight ?? 0,
      sample: () => blockManagers.get(manager)?.sample() ?? Promise.resolve([]),
      dfkGone: () => finished(4),
      log,
    });
    const direct = nc.subscribe(subjects.blockTasks(options.blockId), {
      callback: (error, msg) => {
        if (!error) send(manager, { type: 'direct', data: msg.data, respond: (answer) => msg.respond(encodeJson(answer)) });
      },
    });
    const control = nc.subscribe(subjects.blockControl(options.blockId), {
      callback: (error, msg) => {
        if (error) return;
        try {
          const command = decodeJson(msg.data, controlSchema, 'control message');
          if (command.type === 'cancel') {
            send(manager, { type: 'cancel', taskId: command.taskId, attempt: command.attempt });
            return;
          }
          log(`told to ${command.type}`);
          if (command.type === 'shutdown') finished(0);
          else send(manager, { type: 'drain' });
        } catch (e) {
          log(`rejected a control message: ${(e as Error).message}`);
        }
      },
    });
    const onSignal = () => send(manager, { type: 'drain' });
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    const code = await done;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    direct.unsubscribe();
    control.unsubscribe();
    stopHeartbeats();
    resources?.stop();
    // Bounded: with the server gone (a driver that does not come back) a step that needs it
    // may never end, and the block must end on its own (it would stay alive for good).
    await within(
      (async () => {
        // Before the connection closes: what the last pull brings is handed back, not dropped.
        await stopPulling();
        await blockManagers.get(manager)?.close();
      })(),
      TEARDOWN_MS,
      () => log(`stopping the pulls and the workers took over ${TEARDOWN_MS} ms; ending anyway`),
    );
    stopActor(system);
    return code;
  } finally {
    // A drain flushes through the server: with the server gone it waits for a reconnection
    // that never comes (the client redials forever), so it is bounded too, then closed.
    const drained = await within(nc.drain(), TEARDOWN_MS, () => log(`closing the NATS connection took over ${TEARDOWN_MS} ms (no server?); closing it now`));
    if (!drained || !nc.isClosed()) await within(nc.close(), TEARDOWN_MS, () => log('the NATS connection did not close; ending anyway'));
  }
}

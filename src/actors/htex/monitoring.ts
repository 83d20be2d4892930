/**
 * What an HTEX manager tells the monitoring database: its blocks' states (Parsl's `block`
 * table: one row per phase a block enters, as `BlockLife` sees it), the nodes that register
 * (`node`), which block and host run each try (`try.block_id`, `try.hostname`), and the
 * resource samples blocks publish on the monitor subject (`resource`). The events go straight
 * to the monitoring actor, batched per manager message or per NATS message.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { ExecutorMonitoring, MonitoringEvent } from '../../monitoring/events.ts';
import { decodeJson, resourceReportSchema, type Registration, type ResourceSample, type Subjects } from '../../nats/protocol.ts';
import type { BlockLife, BlockPhase } from './block-phase.ts';

/** Parsl's block statuses (its `JobState` names) for each phase a block goes through. */
const BLOCK_STATUS: Record<BlockPhase, string> = {
  submitting: 'SUBMITTING',
  pending: 'PENDING',
  registered: 'RUNNING',
  draining: 'SCALED_IN',
  lost: 'FAILED',
  cancelled: 'CANCELLED',
};

/** Parsl's try id counts from 0; the wire's attempt from 1. */
const tryOf = (attempt: number) => Math.max(0, attempt - 1);

export class HtexMonitoring {
  readonly #sink: ExecutorMonitoring;
  readonly #label: string;
  #subscription: Subscription | undefined;
  /** Tries whose block is recorded (by their running report), so their results need not say it again. */
  readonly #placed = new Set<string>();
  /** What each registered block's node row says, for the row that marks it inactive. */
  readonly #nodes = new Map<string, Omit<Extract<MonitoringEvent, { type: 'node' }>, 'time' | 'active'>>();

  constructor(sink: ExecutorMonitoring, label: string) {
    this.#sink = sink;
    this.#label = label;
  }

  /** How often blocks sample their tries (for their registration answer); undefined when off. */
  get resourceIntervalMs(): number | undefined {
    return this.#sink.resourceIntervalMs;
  }

  /** Records every phase `life` enters from now on, and the one it is in. */
  watch(life: BlockLife): void {
    life.onPhase = () => this.#block(life);
    this.#block(life);
  }

  /** A block manager registered: its node row. */
  registered(registration: Registration): void {
    const node = {
      type: 'node' as const,
      runId: this.#sink.runId,
      hostname: registration.host,
      uid: `${registration.host}-${registration.pid}`,
      blockId: registration.blockId,
      cpuCount: registration.cpuCount ?? registration.workers,
      totalMemory: registration.totalMemory ?? 0,
      workerCount: registration.workers,
      runtimeVersion: registration.runtimeVersion ?? 'unknown',
    };
    this.#nodes.set(registration.blockId, node);
    this.#sink.send([{ ...node, time: Date.now(), active: true }]);
  }

  /** A block reported that a try started (`host` is where its manager runs). */
  running(blockId: string, host: string | undefined, taskId: number, attempt: number): void {
    this.#placed.add(`${taskId}:${attempt}`);
    this.#sink.send([this.#placement(blockId, host, taskId, attempt)]);
  }

  /** A block reported results: tries it never said were running get their block now. */
  results(blockId: string, host: string | undefined, outcomes: ReadonlyArray<{ taskId: number; attempt: number }>): void {
    const events: MonitoringEvent[] = [];
    for (const { taskId, attempt } of outcomes) {
      if (!this.#placed.delete(`${taskId}:${attempt}`)) events.push(this.#placement(blockId, host, taskId, attempt));
    }
    if (events.length > 0) this.#sink.send(events);
  }

  /** Listens for the blocks' resource samples. */
  subscribe(nc: NatsConnection, subjects: Subjects): void {
    if (this.#sink.resourceIntervalMs === undefined) return;
    this.#subscription = nc.subscribe(subjects.monitor, {
      callback: (error, msg) => {
        if (error) return;
        try {
          const report = decodeJson(msg.data, resourceReportSchema, 'resource report');
          this.#sink.send(report.samples.map((s) => this.#resource(s)));
        } catch (e) {
          process.emitWarning(`rejected a block's resource report: ${(e as Error).message}`, { code: 'PARSL_TS_MONITORING_ERROR' });
        }
      },
    });
  }

  /** Stops listening. */
  close(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  #block(life: BlockLife): void {
    const time = Date.now();
    const events: MonitoringEvent[] = [
      { type: 'block', runId: this.#sink.runId, time, executor: this.#label, blockId: life.blockId, jobId: life.jobId, status: BLOCK_STATUS[life.phase] },
    ];
    const node = life.ended ? this.#nodes.get(life.blockId) : undefined;
    if (node) {
      this.#nodes.delete(life.blockId);
      events.push({ ...node, time, active: false });
    }
    this.#sink.send(events);
  }

  #placement(blockId: string, host: string | undefined, taskId: number, attempt: number): MonitoringEvent {
    return { type: 'try-placed', runId: this.#sink.runId, taskId, tryId: tryOf(attempt), executor: this.#label, blockId, hostname: host };
  }

  #resource(s: ResourceSample): MonitoringEvent {
    return {
      type: 'resource',
      runId: this.#sink.runId,
      taskId: s.taskId,
      tryId: tryOf(s.attempt),
      time: s.time,
      intervalMs: s.intervalMs,
      pid: s.pid,
      cpuPercent: s.cpuPercent,
      memoryPercent: s.memoryPercent,
      childrenCount: s.childrenCount,
      timeUser: s.timeUser,
      timeSystem: s.timeSystem,
      memoryVirtual: s.memoryVirtual,
      memoryResident: s.memoryResident,
      status: s.status,
    };
  }
}

/**
 * Resource samples of a block's running tries, for the monitoring database (Parsl's
 * `resource` table): every `intervalMs` each running try is sampled, and every try gets a
 * final sample when it ends (Parsl misses that one: #2177). A bash app's try is its
 * command's process group; a function's try is the block manager's process, whose worker
 * threads share one CPU and memory account (Node cannot measure one thread from outside it).
 * Samples go to the DFK on the monitor subject, one message per tick or per batch of ends.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { encodeJson, type ResourceSample, type Subjects, type WorkerSampleMessage } from '../nats/protocol.ts';
import { readProcessGroup, readThisProcess, type ProcessReading } from './process-sample.ts';

export interface ResourceSamplerOptions {
  blockId: string;
  intervalMs: number;
  /** Each worker thread's current try (and its bash command), asked on its control plane. */
  sample: () => Promise<WorkerSampleMessage[]>;
  log: (line: string) => void;
}

interface Tracked {
  taskId: number;
  attempt: number;
  /** A bash app's try: sampled as its command, once a worker named the command's process group. */
  bash: boolean;
  childPid: number | undefined;
  /** The last sample of its command, kept for its final sample (the command is gone by then). */
  last: ResourceSample | undefined;
  /** CPU seconds and time of the previous reading of its command, for the CPU percentage. */
  previous: { cpu: number; time: number } | undefined;
}

const key = (taskId: number, attempt: number) => `${taskId}:${attempt}`;

/** Samples the tries of one block and publishes them; `stop()` ends it. */
export class ResourceSampler {
  readonly #nc: NatsConnection;
  readonly #subject: string;
  readonly #options: ResourceSamplerOptions;
  readonly #running = new Map<string, Tracked>();
  /** Tries that ended since the current tick began: a late answer must not bring them back. */
  readonly #ended = new Set<string>();
  readonly #timer: NodeJS.Timeout;
  #ticking = false;
  #process: { cpu: number; time: number } = { cpu: 0, time: performance.timeOrigin };

  constructor(nc: NatsConnection, subjects: Subjects, options: ResourceSamplerOptions) {
    this.#nc = nc;
    this.#subject = subjects.monitor;
    this.#options = options;
    const first = readThisProcess();
    this.#process = { cpu: first.timeUser + first.timeSystem, time: Date.now() };
    this.#timer = setInterval(() => void this.#tick(), options.intervalMs);
    this.#timer.unref();
  }

  /** Tries of bash apps that this block took: they are sampled as their commands. */
  readonly #bash = new Set<string>();

  /** The block took tries; `bash` for those of bash apps. */
  took(tries: ReadonlyArray<{ taskId: number; attempt: number; kind: string }>): void {
    for (const t of tries) if (t.kind === 'bash') this.#bash.add(key(t.taskId, t.attempt));
  }

  /** A worker started a try. */
  started(taskId: number, attempt: number): void {
    const k = key(taskId, attempt);
    if (!this.#running.has(k)) {
      this.#running.set(k, { taskId, attempt, bash: this.#bash.has(k), childPid: undefined, last: undefined, previous: undefined });
    }
  }

  /** Tries ended: each gets its final sample, published at once (before its result is sent). */
  ended(tries: ReadonlyArray<{ taskId: number; attempt: number }>): void {
    if (tries.length === 0) return;
    const now = Date.now();
    let processSample: ResourceSample | undefined;
    const samples: ResourceSample[] = [];
    for (const { taskId, attempt } of tries) {
      const k = key(taskId, attempt);
      const tracked = this.#running.get(k);
      this.#running.delete(k);
      this.#ended.add(k);
      const bash = this.#bash.delete(k);
      if (tracked?.last) {
        samples.push({ ...tracked.last, time: now, status: 'exited' });
        continue;
      }
      if (bash) {
        // Its command ended before it was ever sampled: that it ended is known, not what it used.
        samples.push({ taskId, attempt, time: now, intervalMs: this.#options.intervalMs, status: 'exited' });
        continue;
      }
      processSample ??= this.#processSample(now);
      samples.push({ ...processSample, taskId, attempt });
    }
    this.#publish(samples);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return; // the last tick's workers have not all answered yet
    this.#ticking = true;
    this.#ended.clear();
    try {
      const workers = await this.#options.sample();
      for (const w of workers) {
        if (!('running' in w) || !w.running) continue;
        const k = key(w.running.taskId, w.running.attempt);
        if (this.#ended.has(k)) continue;
        this.started(w.running.taskId, w.running.attempt);
        if (w.childPid !== undefined) this.#running.get(k)!.childPid = w.childPid;
      }
      const now = Date.now();
      let processSample: ResourceSample | undefined;
      const samples: ResourceSample[] = [];
      for (const tracked of this.#running.values()) {
        if (tracked.bash) {
          // A command not started yet (or already gone) has nothing to sample; the block's process is not it.
          const command = tracked.childPid === undefined ? undefined : this.#commandSample(tracked, now);
          if (command) samples.push(command);
        } else {
          processSample ??= this.#processSample(now);
          samples.push({ ...processSample, taskId: tracked.taskId, attempt: tracked.attempt });
        }
      }
      this.#publish(samples);
    } catch (error) {
      this.#options.log(`resource sampling failed: ${(error as Error).message}`);
    } finally {
      this.#ticking = false;
    }
  }

  #commandSample(tracked: Tracked, now: number): ResourceSample | undefined {
    const reading = readProcessGroup(tracked.childPid!);
    if (!reading) return undefined;
    const cpu = reading.timeUser + reading.timeSystem;
    const since = tracked.previous;
    tracked.previous = { cpu, time: now };
    // The first reading has nothing to compare with: CPU since the command started is unknown to it.
    const cpuPercent = since && now > since.time ? (100 * (cpu - since.cpu) * 1000) / (now - since.time) : undefined;
    tracked.last = toSample(tracked, reading, now, this.#options.intervalMs, cpuPercent, 'running');
    return tracked.last;
  }

  /** The block manager's process, its CPU percentage since the previous such sample. */
  #processSample(now: number): ResourceSample {
    const reading = readThisProcess();
    const cpu = reading.timeUser + reading.timeSystem;
    const since = this.#process;
    this.#process = { cpu, time: now };
    const cpuPercent = now > since.time ? (100 * (cpu - since.cpu) * 1000) / (now - since.time) : undefined;
    return toSample({ taskId: -1, attempt: 0 }, reading, now, this.#options.intervalMs, cpuPercent, 'running');
  }

  #publish(samples: ResourceSample[]): void {
    if (samples.length === 0) return;
    this.#nc.publish(this.#subject, encodeJson({ blockId: this.#options.blockId, samples }));
  }
}

function toSample(
  t: { taskId: number; attempt: number },
  r: ProcessReading,
  time: number,
  intervalMs: number,
  cpuPercent: number | undefined,
  status: string,
): ResourceSample {
  const sample: ResourceSample = {
    taskId: t.taskId,
    attempt: t.attempt,
    time,
    pid: r.pid,
    intervalMs,
    timeUser: r.timeUser,
    timeSystem: r.timeSystem,
    memoryResident: r.memoryResident,
    memoryPercent: r.memoryPercent,
    status,
  };
  if (cpuPercent !== undefined) sample.cpuPercent = cpuPercent;
  if (r.memoryVirtual !== undefined) sample.memoryVirtual = r.memoryVirtual;
  if (r.childrenCount !== undefined) sample.childrenCount = r.childrenCount;
  return sample;
}

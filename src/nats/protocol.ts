/**
 * What the DFK and block managers say to each other over NATS: subjects, stream names and
 * message schemas. Every message that arrives is validated with zod before it is used; a
 * message that fails is rejected and logged, and never kills its receiver.
 */
import { deserialize, serialize } from 'node:v8';
import { lazySchema, z } from '../common/zod.ts';
import { ParslError, type SerializedError } from '../common/errors.ts';

/** Bumped whenever a message changes shape; a block of another protocol is refused. */
export const PROTOCOL_VERSION = 1;

/** A message that does not decode or does not match its schema. */
export class ProtocolError extends ParslError {}

/** Subjects of one executor of one run. `run` and `label` are made subject-safe first. */
export function subjectsFor(runId: string, label: string) {
  const base = `parsl.${safeToken(runId)}.${safeToken(label)}`;
  const stream = `PARSL_${safeToken(runId).replace(/-/g, '')}_${safeToken(label)}`.toUpperCase();
  return {
    /** JetStream work queue of task batches. */
    tasks: `${base}.tasks`,
    /** JetStream stream of results, claims and running notices from blocks. */
    results: `${base}.results`,
    /** Request/reply: results straight to the DFK, which answers once it has them (the fast path). */
    directResults: `${base}.results-direct`,
    /** Request/reply: a block registers. */
    register: `${base}.register`,
    /** A block's heartbeats. */
    blockHeartbeat: (blockId: string) => `${base}.block.${safeToken(blockId)}.hb`,
    /** Every block's heartbeats, for the DFK. */
    allBlockHeartbeats: `${base}.block.*.hb`,
    /** Request/reply: a small task batch straight to one block, which accepts it if it has room. */
    blockTasks: (blockId: string) => `${base}.block.${safeToken(blockId)}.tasks`,
    /** Control messages to one block (drain, shutdown). */
    blockControl: (blockId: string) => `${base}.block.${safeToken(blockId)}.ctl`,
    /** The DFK's heartbeats, for blocks. */
    dfkHeartbeat: `${base}.dfk.hb`,
    /** Blocks' monitoring reports (resource samples of the processes running tries), for the DFK. */
    monitor: `${base}.monitor`,
    /** Request/reply: which tries of a batch handed out again the DFK still waits for (`wantedSchema`). */
    wanted: `${base}.wanted`,
    taskStream: `${stream}_TASKS`,
    resultStream: `${stream}_RESULTS`,
  };
}

export type Subjects = ReturnType<typeof subjectsFor>;

function safeToken(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_');
}

const serializedError: z.ZodType<SerializedError> = lazySchema(() =>
  z.lazy(() =>
    z
      .object({
        name: z.string(),
        message: z.string(),
        stack: z.string().optional(),
        cause: z.union([serializedError, z.object({ value: z.unknown() })]).optional(),
        props: z.record(z.string(), z.unknown()).optional(),
      })
      .strict(),
  ),
);

const functionRef = lazySchema(() =>
  z.discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('source'),
        name: z.string(),
        source: z.string(),
        imports: z
          .object({
            from: z.string(),
            bindings: z.array(z.object({ local: z.string(), specifier: z.string(), imported: z.string() }).strict()),
          })
          .strict()
          .optional(),
      })
      .strict(),
    z.object({ kind: z.literal('module'), name: z.string(), module: z.string(), exportName: z.string() }).strict(),
  ]),
);

const streamSpec = lazySchema(() => z.object({ path: z.string(), mode: z.enum(['w', 'a']) }).strict());

const wireTask = lazySchema(() =>
  z
    .object({
      taskId: z.number().int().nonnegative(),
      attempt: z.number().int().positive(),
      kind: z.enum(['python', 'bash']),
      fnId: z.number().int(),
      args: z.array(z.unknown()),
      walltimeMs: z.number().positive().optional(),
      bash: z.object({ stdout: streamSpec.optional(), stderr: streamSpec.optional(), outputs: z.array(z.string()) }).strict().optional(),
      after: z
        .object({ taskId: z.number().int().nonnegative(), attempt: z.number().int().positive(), index: z.number().int().nonnegative() })
        .strict()
        .optional(),
    })
    .strict(),
);

const wireOutcome = lazySchema(() =>
  z.union([
    z.object({ taskId: z.number().int(), attempt: z.number().int(), ok: z.literal(true), value: z.unknown() }).strict(),
    z
      .object({ taskId: z.number().int(), attempt: z.number().int(), ok: z.literal(false), error: serializedError, unmet: z.literal(true).optional() })
      .strict(),
  ]),
);

/** DFK → blocks, on the task work queue: a batch of tries and the functions they need. */
export const taskBatchSchema = lazySchema(() =>
  z
    .object({
      v: z.literal(PROTOCOL_VERSION),
      kind: z.literal('tasks'),
      functions: z.array(z.object({ id: z.number().int(), ref: functionRef }).strict()),
      tasks: z.array(wireTask).min(1),
    })
    .strict(),
);

/** Blocks → DFK, on the results stream. */
export const blockReportSchema = lazySchema(() =>
  z.discriminatedUnion('kind', [
    z.object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal('results'), blockId: z.string(), outcomes: z.array(wireOutcome) }).strict(),
    z
      .object({
        v: z.literal(PROTOCOL_VERSION),
        kind: z.literal('claimed'),
        blockId: z.string(),
        /** Stream sequence of the task batch, so the DFK can withdraw it if the block is lost. */
        seq: z.number().int(),
        tasks: z.array(z.object({ taskId: z.number().int(), attempt: z.number().int() }).strict()),
      })
      .strict(),
    z
      .object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal('running'), blockId: z.string(), taskId: z.number().int(), attempt: z.number().int() })
      .strict(),
  ]),
);

/** A block's answer to a batch sent straight to it. */
export const DIRECT_ACCEPTED = 'accepted';
/** JetStream consumer that every block of one executor pulls task batches from. */
export const BLOCK_CONSUMER = 'blocks';
export const DIRECT_BUSY = 'busy';

/** A block → DFK registration request. */
export const registrationSchema = lazySchema(() =>
  z
    .object({
      protocolVersion: z.number().int(),
      packageVersion: z.string(),
      blockId: z.string(),
      host: z.string(),
      pid: z.number().int(),
      workers: z.number().int().positive(),
      /** The node, for the monitoring database's node table. */
      cpuCount: z.number().int().positive().optional(),
      totalMemory: z.number().nonnegative().optional(),
      runtimeVersion: z.string().optional(),
    })
    .strict(),
);

/** The DFK's answer to a registration. */
export const registrationReplySchema = lazySchema(() =>
  z.union([
    z
      .object({
        ok: z.literal(true),
        heartbeatPeriodMs: z.number(),
        heartbeatThresholdMs: z.number(),
        /** Monitoring is on with resource sampling: sample running tries this often (ms). */
        resourceMonitoringIntervalMs: z.number().positive().optional(),
      })
      .strict(),
    z.object({ ok: z.literal(false), error: z.string() }).strict(),
  ]),
);

/**
 * What one worker thread of a block reports of itself, asked through its control plane
 * (comlink); `busy` when it did not answer in time (busy in synchronous code).
 */
export const workerSampleSchema = lazySchema(() =>
  z.union([
    z
      .object({
        workerId: z.string(),
        heapUsed: z.number(),
        heapTotal: z.number(),
        rss: z.number(),
        busyMs: z.number(),
        running: z.object({ taskId: z.number().int(), attempt: z.number().int() }).strict().optional(),
        /** The process group of the bash command the running try waits on. */
        childPid: z.number().int().positive().optional(),
      })
      .strict(),
    z.object({ workerId: z.string(), busy: z.literal(true) }).strict(),
  ]),
);

/**
 * One resource sample of the process that runs a try on a block: the bash command of a bash
 * app, or the block manager's process for a function (its worker threads share it). `final`
 * marks the sample taken when the try ended.
 */
export const resourceSampleSchema = lazySchema(() => z
  .object({
    taskId: z.number().int(),
    attempt: z.number().int(),
    time: z.number(),
    /** Absent in the final sample of a bash command that ended before it was ever sampled. */
    pid: z.number().int().optional(),
    intervalMs: z.number().optional(),
    cpuPercent: z.number().optional(),
    memoryPercent: z.number().optional(),
    timeUser: z.number().optional(),
    timeSystem: z.number().optional(),
    memoryVirtual: z.number().optional(),
    memoryResident: z.number().optional(),
    childrenCount: z.number().int().optional(),
    status: z.string().optional(),
  })
  .strict());

/** A block's resource samples, on the monitor subject. */
export const resourceReportSchema = lazySchema(() => z.object({ blockId: z.string(), samples: z.array(resourceSampleSchema) }).strict());

/** A block's heartbeat; `workers` is the latest sample of its worker threads. */
export const blockHeartbeatSchema = lazySchema(() =>
  z
    .object({ blockId: z.string(), inFlight: z.number().int(), at: z.number(), workers: z.array(workerSampleSchema).optional() })
    .strict(),
);

/** DFK → one block: drain, shut down, or cancel one try (off its queue, or stopped on its worker). */
export const controlSchema = lazySchema(() =>
  z.union([
    z.object({ type: z.enum(['drain', 'shutdown']) }).strict(),
    z.object({ type: z.literal('cancel'), taskId: z.number().int(), attempt: z.number().int() }).strict(),
  ]),
);

/**
 * Block → DFK, for a batch JetStream delivers again (its ack wait ended, or a restarted server
 * lost the ack): the DFK answers with the tries it still waits for, and only those run, so a
 * try whose result the DFK has is never run twice.
 */
export const wantedSchema = lazySchema(() => z.object({ blockId: z.string().optional(), tries: z.array(z.object({ taskId: z.number().int(), attempt: z.number().int() }).strict()) }).strict());

export type WantedMessage = z.infer<typeof wantedSchema>;
export type TaskBatchMessage = z.infer<typeof taskBatchSchema>;
export type BlockReport = z.infer<typeof blockReportSchema>;
export type Registration = z.infer<typeof registrationSchema>;
export type RegistrationReply = z.infer<typeof registrationReplySchema>;
export type BlockHeartbeat = z.infer<typeof blockHeartbeatSchema>;
export type WorkerSampleMessage = z.infer<typeof workerSampleSchema>;
export type ResourceSample = z.infer<typeof resourceSampleSchema>;
export type ResourceReport = z.infer<typeof resourceReportSchema>;
export type ControlMessage = z.infer<typeof controlSchema>;

/** Binary form of batches and reports: v8's serializer keeps Map, Set, Date, BigInt and typed arrays. */
export function encodeBinary(message: unknown): Uint8Array {
  return serialize(message);
}

/** Decodes and validates a binary message; throws `ProtocolError` saying what is wrong. */
export function decodeBinary<S extends z.ZodType>(bytes: Uint8Array, schema: S, what: string): z.output<S> {
  let value: unknown;
  try {
    value = deserialize(bytes);
  } catch (error) {
    throw new ProtocolError(`${what}: ${bytes.length} bytes that do not decode (${(error as Error).message})`);
  }
  return validate(value, schema, what);
}

/** Text form of small control-plane messages. */
export function encodeJson(message: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}

export function decodeJson<S extends z.ZodType>(bytes: Uint8Array, schema: S, what: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ProtocolError(`${what}: not JSON (${(error as Error).message})`);
  }
  return validate(value, schema, what);
}

function validate<S extends z.ZodType>(value: unknown, schema: S, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ProtocolError(`${what} does not match the protocol: ${issues.join('; ')}`);
}

/**
 * Every message that crosses an actor, a thread or (later) NATS is a member of one of these
 * discriminated unions.
 */
import type { SerializedError } from '../errors.ts';
import type { FunctionRef } from '../apps/function-ref.ts';

/** How an app's body runs. */
export type AppKind = 'python' | 'bash' | 'join';

/** Where a bash app's stream goes: a path, opened for appending, or `[path, mode]`. */
export interface StreamSpec {
  path: string;
  /** `w` truncates, `a` appends. */
  mode: 'w' | 'a';
}

/** What the worker needs to run a bash app's command besides the function. */
export interface BashSpec {
  stdout?: StreamSpec | undefined;
  stderr?: StreamSpec | undefined;
  /** Declared outputs (local paths) that must exist when the command ends. */
  outputs: string[];
}

/** A function as executors know it: a small id, and how to find its code. */
export interface FunctionDef {
  id: number;
  ref: FunctionRef;
}

/** One try of one task, as the DFK hands it to an executor. */
export interface ExecTask {
  taskId: number;
  /** Which try this is, from 1; results of an older try are ignored. */
  attempt: number;
  kind: AppKind;
  fn: FunctionDef;
  /** The function itself, for executors that run in this thread (join apps). */
  local: Function;
  /** Arguments with every dependency replaced by its value. */
  args: unknown[];
  walltimeMs?: number | undefined;
  bash?: BashSpec | undefined;
}

/** The end of one try. */
export type TaskOutcome =
  | { taskId: number; attempt: number; ok: true; value: unknown }
  | { taskId: number; attempt: number; ok: false; error: unknown };

/** DFK supervisor → executor manager. */
export type ToExecutor =
  | { type: 'launch'; tasks: ExecTask[] }
  | { type: 'shutdown'; done: () => void };

/** Executor manager → DFK supervisor. */
export type FromExecutor =
  | { type: 'results'; outcomes: TaskOutcome[] }
  | { type: 'running'; taskId: number; attempt: number };

/** A task as it travels to a worker thread or a block: encoded arguments, function by id. */
export interface WireTask {
  taskId: number;
  attempt: number;
  kind: 'python' | 'bash';
  fnId: number;
  args: unknown[];
  walltimeMs?: number | undefined;
  bash?: BashSpec | undefined;
}

/** The end of one try, as a worker sends it back. */
export type WireOutcome =
  | { taskId: number; attempt: number; ok: true; value: unknown }
  | { taskId: number; attempt: number; ok: false; error: SerializedError };

/** Main side → worker thread, on the data port. */
export type ToWorker = {
  type: 'run';
  /** Functions this worker has not seen yet. */
  functions: FunctionDef[];
  tasks: WireTask[];
};

/** Worker thread → main side, on the data port. */
export type FromWorker =
  | {
      type: 'results';
      outcomes: WireOutcome[];
      /** Mean time per task of this batch, in ms, for sizing how many tasks a worker holds. */
      meanTaskMs: number;
    }
  | { type: 'running'; taskId: number; attempt: number };

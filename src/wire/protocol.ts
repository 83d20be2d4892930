/**
 * What crosses a thread or NATS: tasks and results as workers see them, and the messages on a
 * worker thread's data port. Each message is a member of one discriminated union.
 */
import type { SerializedError } from '../common/errors.ts';

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

/** A name an inline app reads that a static import of its module binds. */
export interface SourceImport {
  /** The name in the module and in the function (`b` in `import { a as b }`). */
  local: string;
  /** As written in the import: `'node:os'`, `'lodash'`, `'./lib.ts'`. */
  specifier: string;
  /** The export bound: a name, `'default'`, or `'*'` for the namespace. */
  imported: string;
}

/** The imports an inline app takes with it, and the module they are resolved from. */
export interface SourceImports {
  /** URL of the module that made the app: relative and bare specifiers are resolved from it. */
  from: string;
  bindings: SourceImport[];
}

/**
 * How a worker finds an app's code.
 * - `source`: the function's text, rebuilt in the worker. It must be self-contained but for
 *   `imports`: names its module imported, which the worker imports the same way.
 * - `module`: a module URL and an export name; the worker imports the module.
 */
export type FunctionRef =
  | { kind: 'source'; name: string; source: string; imports?: SourceImports | undefined }
  | { kind: 'module'; name: string; module: string; exportName: string };

/** A function as executors know it: a small id, and how to find its code. */
export interface FunctionDef {
  id: number;
  ref: FunctionRef;
}

/** A task as it travels to a worker thread or a block: encoded arguments, function by id. */
export interface WireTask {
  taskId: number;
  attempt: number;
  kind: 'python' | 'bash';
  fnId: number;
  args: unknown[];
  walltimeMs?: number | undefined;
  bash?: BashSpec | undefined;
  /** Sent ahead of its dependency (see SentAhead): runs only after that try succeeded on the same worker. */
  after?: SentAhead | undefined;
}

/**
 * A task sent to a worker before the one it depends on has ended there, so that a chain pays
 * no round trip to the DFK per link. The worker keeps the result of try `attempt` of `taskId`
 * and puts it at `args[index]`; when that try failed, or did not run on this worker before this
 * task arrived, the task does not run and its outcome says `unmet`: the DFK then waits for the
 * dependency as usual and launches (or fails) the task itself.
 */
export interface SentAhead {
  taskId: number;
  attempt: number;
  index: number;
}

/** The end of one try, as a worker sends it back. */
export type WireOutcome =
  | { taskId: number; attempt: number; ok: true; value: unknown }
  | {
      taskId: number;
      attempt: number;
      ok: false;
      error: SerializedError;
      /** Not run: it was sent ahead and its dependency's result is not here (SentAhead). */
      unmet?: true | undefined;
    };

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
  | { type: 'running'; taskId: number; attempt: number }
  /**
   * The thread's task loop runs: it is handed tasks from now on. Its `online` event is no sign
   * of that: it comes before the thread has loaded its modules, 0.45–1 s earlier from the
   * TypeScript sources on a machine at load 10, and a task sent then waits that long (or for
   * as long as a stalled load takes) while another thread may sit idle.
   */
  | { type: 'ready' };

/**
 * Messages between the DFK supervisor and its executor managers.
 */
import type { AppKind, BashSpec, FunctionDef, SentAhead } from '../wire/protocol.ts';

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
  /** The call's memo key, when it is cached: a resumed HTEX adopts an earlier driver's try by it (htex/adopt.ts). */
  memoKey?: string | undefined;
  /** Sent ahead of the try it depends on, to run after it on the same worker (wire/protocol.ts SentAhead). */
  after?: SentAhead | undefined;
}

/** The end of one try. */
export type TaskOutcome =
  | { taskId: number; attempt: number; ok: true; value: unknown }
  /** `unmet`: a try sent ahead that did not run (wire/protocol.ts SentAhead). */
  | { taskId: number; attempt: number; ok: false; error: unknown; unmet?: true | undefined };

/** DFK supervisor → executor manager. */
export type ToExecutor =
  | { type: 'launch'; tasks: ExecTask[] }
  /**
   * Stop a try wherever the executor holds it: off its queue, or stopped on its worker. The
   * DFK has already failed the task; whatever outcome the try still has is ignored.
   */
  /**
   * Stop a try. `handled` is called once the manager has taken it off its queue or told its
   * worker: only then does the DFK end the task, so a cancelled queued try never starts.
   */
  | { type: 'cancel'; taskId: number; attempt: number; handled: () => void }
  | { type: 'shutdown'; done: () => void };

/** Executor manager → DFK supervisor. */
export type FromExecutor =
  /**
   * `committed` runs once the DFK has committed these results to the checkpoint (task_exit):
   * only then may the executor let go of them (ack them, journal them as reported), or a kill
   * in between would lose results that the checkpoint does not have either.
   */
  | { type: 'results'; outcomes: TaskOutcome[]; committed?: () => void }
  | { type: 'running'; taskId: number; attempt: number }
  /**
   * What the executor can run at once now, and whether its site is in reach. One out of reach
   * has its unpinned tries moved to executors in reach (src/actors/placement.ts).
   */
  | { type: 'capacity'; label: string; slots: number; available: boolean };

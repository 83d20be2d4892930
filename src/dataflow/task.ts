import type { AppDefinition } from '../apps/app.ts';
import type { AppFuture } from '../apps/future.ts';
import type { BashSpec } from '../wire/protocol.ts';

/** The DFK's record of one task, from the call until it ends. Dropped once the task ends. */
export interface TaskRecord {
  readonly id: number;
  readonly app: AppDefinition;
  readonly future: AppFuture<unknown>;
  /** The call's arguments as given (futures included). */
  readonly args: unknown[];
  /** Index in `args` of the trailing options object, or -1. */
  readonly kwargsIndex: number;
  /** Absent unless the call has a walltime (as `bash`, `stagingExecutor` and `foreign` are unless set: 8 bytes each on every pending task). */
  walltimeMs?: number | undefined;
  bash?: BashSpec | undefined;
  /** Dependencies not yet settled. */
  waitingOn: number;
  /** Tries launched so far. */
  attempt: number;
  /** Sum of failure costs, compared with `Config.retries`. */
  failCost: number;
  /** Label of the executor of the current try. */
  executor: string | undefined;
  /** Memo key of this call, for apps with `cache: true`. */
  memoKey: string | undefined;
  /** The executor its files were staged for, when the call must run there. */
  stagingExecutor?: string | undefined;
  /**
   * Its current try was sent ahead of its one unsettled dependency (actors/send-ahead.ts): that
   * dependency's settling does not launch it; its worker runs it, or says it could not.
   */
  sentAhead?: boolean | undefined;
  /** Values of dependencies that are promises rather than futures. */
  foreign?: Map<PromiseLike<unknown>, { ok: boolean; value: unknown }> | undefined;
}

import { IllegalStateError } from '../common/errors.ts';
import { writeTaskState, type AppFuture } from './future.ts';

/**
 * Task states, as Parsl names them (Parsl's `dataflow/states.py`).
 *
 * One owner: the DFK supervisor actor (`actors/dfk.ts`) makes every transition, through
 * `transition()` below, inside the actor. Nothing else writes a task's state: the kernel facade
 * asks the DFK to cancel, and users read `AppFuture.state`, which has no setter.
 *
 * @example
 * ```
 *  pending ─► launched ─► running ─► joining ─► exec_done | failed
 *     │          ▲  │        │
 *     │          └──┴────────┘   a retry, or a relaunch after an executor restart
 *     │       launched | running ─► exec_done | failed
 *     └─► memo_done | dep_fail | failed
 * ```
 */
export type TaskState =
  /** Created; its dependencies are not all resolved yet (or it waits for its code's module). */
  | 'pending'
  /** Handed to an executor; waiting for a worker. */
  | 'launched'
  /** A worker reported that it started the task. */
  | 'running'
  /** A join app returned futures; waiting for them. */
  | 'joining'
  /** Finished with a result. */
  | 'exec_done'
  /** Outcome (a result, or a failure remembered in this run) taken from the memo table without running. */
  | 'memo_done'
  /** Finished with an error after all retries, or cancelled, or the kernel closed first. */
  | 'failed'
  /** Not run because a dependency failed. */
  | 'dep_fail';

/**
 * Every allowed transition, by the state it leaves. Each is made by the DFK supervisor:
 * - pending → launched: the dependencies resolved and an executor was chosen (`#launch`).
 * - pending → memo_done: a cached app's call matched the memo table (`#launch`, first try only).
 * - pending → dep_fail: a dependency failed (`#dependencyFailed`).
 * - pending → failed: cancelled before launch, its code's module could not be found, or the kernel closed.
 * - launched → launched, running → launched: a retry, or a relaunch after its executor manager restarted.
 * - launched → running: the executor reported that a worker started it (the report may never come:
 *   an outcome can arrive first).
 * - launched | running → joining: a join app's function returned futures (`#join`).
 * - launched | running | joining → exec_done: the result arrived (joining: the joined futures resolved).
 * - launched | running | joining → failed: the last try failed, the retry handler threw, a join app
 *   returned something it cannot join or its futures failed, or the kernel closed.
 * Final states (`FINAL_STATES`) are never left.
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  pending: ['launched', 'memo_done', 'dep_fail', 'failed'],
  // dep_fail: a try sent ahead of its dependency (actors/send-ahead.ts) that failed meanwhile.
  launched: ['launched', 'running', 'joining', 'exec_done', 'failed', 'dep_fail'],
  running: ['launched', 'joining', 'exec_done', 'failed'],
  joining: ['exec_done', 'failed'],
  exec_done: [],
  memo_done: [],
  failed: [],
  dep_fail: [],
};

/**
 * States from which a task never moves again.
 *
 * @example
 * ```ts
 * const f = double(2);
 * await f;
 * FINAL_STATES.has(f.state);            // true: exec_done
 * ```
 */
export const FINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>(['exec_done', 'memo_done', 'failed', 'dep_fail']);

/**
 * Moves a task to `to`: the one guarded way to change a task's state. Called by the DFK
 * supervisor only. A transition the table does not allow is a bug in the kernel: it throws
 * `IllegalStateError` and changes nothing.
 */
export function transition(future: AppFuture<unknown>, to: TaskState): void {
  const from = future.state;
  if (!TASK_TRANSITIONS[from].includes(to)) {
    throw new IllegalStateError(`task ${future.tid} (${future.appName}): no transition from '${from}' to '${to}'`);
  }
  writeTaskState(future, to);
}

/**
 * Task states, as Parsl names them.
 */
export type TaskState =
  /** Created; its dependencies are not all resolved yet. */
  | 'pending'
  /** Handed to an executor; waiting for a worker. */
  | 'launched'
  /** A worker reported that it started the task. */
  | 'running'
  /** A join app returned futures; waiting for them. */
  | 'joining'
  /** Finished with a result. */
  | 'exec_done'
  /** Result taken from the memo table without running. */
  | 'memo_done'
  /** Finished with an error after all retries. */
  | 'failed'
  /** Not run because a dependency failed. */
  | 'dep_fail';

/** States from which a task never moves again. */
export const FINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>(['exec_done', 'memo_done', 'failed', 'dep_fail']);

/** Final states in which the task has a result rather than an error. */
export const SUCCESS_STATES: ReadonlySet<TaskState> = new Set<TaskState>(['exec_done', 'memo_done']);

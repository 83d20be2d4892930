/**
 * Tasks sent ahead of their dependency (wire/protocol.ts `SentAhead`) on HTEX. A block runs the
 * thread executor's pool, which puts a follower behind the try it depends on when both come in one
 * batch or that try is on one of its workers; so the manager's part is to get the follower there:
 *
 * - published together with its dependency (a chain called in one go is one launch): it travels
 *   in the dependency's batch, so that the whole chain runs on one worker of one block, each link
 *   as soon as the one before it ends there, its results still going to the DFK one by one;
 * - else to the block known to hold the dependency's try (it claimed it, or took it straight);
 * - else (the try still waits in the work queue, or is no longer out) it does not go at all: it
 *   comes back `unmet` at once, and the DFK launches it the usual way once its dependency ends.
 */
import type { WireOutcome, WireTask } from '../../wire/protocol.ts';

export interface FollowerRoutes {
  /** The tasks to batch, in publishing order with each group whole: a task, then the tasks that follow it (and theirs). */
  ordered: WireTask[];
  /** Whether a task of `ordered` stays in the batch of the one before it (it follows a task of its group). */
  staysWith: (task: WireTask) => boolean;
  /** Followers of tries a block holds, by that block. */
  toBlocks: Map<string, WireTask[]>;
  /** Followers with nowhere to go. */
  unmet: WireOutcome[];
}

/** Where each task of a publish goes; `holder` names the block known to hold a try. Undefined when none was sent ahead. */
export function routeFollowers(ready: WireTask[], holder: (taskId: number, attempt: number) => string | undefined): FollowerRoutes | undefined {
  if (!ready.some((task) => task.after !== undefined)) return undefined;
  const groups: WireTask[][] = [];
  // Each task of this publish and the group it is in.
  const groupOf = new Map<number, { task: WireTask; group: WireTask[] }>();
  const toBlocks = new Map<string, WireTask[]>();
  const unmet: WireOutcome[] = [];
  for (const task of ready) {
    const after = task.after;
    const dependency = after && groupOf.get(after.taskId);
    if (after === undefined || (dependency && dependency.task.attempt === after.attempt)) {
      const group = dependency?.group ?? [];
      if (group.length === 0) groups.push(group);
      group.push(task);
      groupOf.set(task.taskId, { task, group });
      continue;
    }
    const block = holder(after.taskId, after.attempt);
    if (block !== undefined) {
      const tasks = toBlocks.get(block);
      if (tasks) tasks.push(task);
      else toBlocks.set(block, [task]);
      continue;
    }
    unmet.push({
      taskId: task.taskId,
      attempt: task.attempt,
      ok: false,
      unmet: true,
      error: { name: 'Error', message: `task ${task.taskId}: no block holds task ${after.taskId} yet` },
    });
  }
  const firsts = new Set(groups.map((group) => group[0]));
  return { ordered: groups.flat(), staysWith: (task) => !firsts.has(task), toBlocks, unmet };
}

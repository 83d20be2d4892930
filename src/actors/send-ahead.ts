/**
 * Which tasks the DFK sends ahead of their dependency (wire/protocol.ts `SentAhead`): a task
 * whose one unsettled dependency is a try now on a thread executor goes to that try's worker at
 * once, to run there as soon as the dependency's result is there, so that a chain of dependent
 * tasks pays no round trip to the DFK per link (the results still come to the DFK, each in turn).
 *
 * Only the simple case is sent ahead, where nothing but the value is needed from the DFK: a
 * function app, the future a positional argument, no memo key on either side (a memo key needs
 * every argument's value; a checkpointed dependency settles only when its checkpoint is written,
 * after the dependent's result could be in), no staging, no promise from elsewhere.
 */
import { AppFuture } from '../apps/future.ts';
import type { SentAhead } from '../wire/protocol.ts';
import type { TaskRecord } from '../dataflow/task.ts';

/** The dependency a task can be sent ahead of, with the executor of its try; undefined if none. */
export function sendAheadOf(
  record: TaskRecord,
  table: ReadonlyMap<number, TaskRecord>,
  sendsAhead: (label: string) => boolean,
  cached: boolean,
): { after: SentAhead; label: string; dependency: AppFuture<unknown> } | undefined {
  if (record.waitingOn !== 1 || cached || record.app.kind !== 'python' || record.stagingExecutor !== undefined || record.foreign) return undefined;
  const { args, kwargsIndex } = record;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (index === kwargsIndex || !(arg instanceof AppFuture) || arg.done()) continue;
    const dependency = table.get(arg.tid);
    if (dependency?.future !== arg || dependency.memoKey !== undefined || dependency.executor === undefined) return undefined;
    const state = dependency.future.state;
    if ((state !== 'launched' && state !== 'running') || dependency.future.cancelRequested) return undefined;
    const label = dependency.executor;
    const allowed = record.app.options.executors;
    if (!sendsAhead(label) || (allowed !== 'all' && !allowed.includes(label))) return undefined;
    return { after: { taskId: dependency.id, attempt: dependency.attempt, index }, label, dependency: arg };
  }
  // The one dependency is elsewhere (in the options object, say).
  return undefined;
}

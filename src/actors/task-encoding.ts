/**
 * The two crossings of a task between the DFK side and a worker (a thread here, or a block):
 * an `ExecTask` encoded for the wire, and a `WireOutcome` decoded for the DFK.
 */
import { deserializeError } from '../common/errors.ts';
import { NO_ARGS } from '../dataflow/arguments.ts';
import { decodeValue, encodeValue } from '../wire/codec.ts';
import type { WireOutcome, WireTask } from '../wire/protocol.ts';
import type { ExecTask, TaskOutcome } from './messages.ts';
import type { PoolTask } from './worker.ts';

/** Turns what a worker sent into what the DFK expects: values decoded, errors rebuilt. */
export function fromWire(outcome: WireOutcome): TaskOutcome {
  return outcome.ok
    ? { taskId: outcome.taskId, attempt: outcome.attempt, ok: true, value: decodeValue(outcome.value) }
    : { taskId: outcome.taskId, attempt: outcome.attempt, ok: false, error: deserializeError(outcome.error), unmet: outcome.unmet };
}

/** Encodes one try for a worker; an argument that cannot travel fails that try alone. */
export function toPoolTask(task: ExecTask): PoolTask | TaskOutcome {
  try {
    const args = task.args.length === 0 ? NO_ARGS : (encodeValue(task.args, 'argument') as unknown[]);
    const wire: WireTask = { taskId: task.taskId, attempt: task.attempt, kind: task.kind === 'bash' ? 'bash' : 'python', fnId: task.fn.id, args };
    // Only when set: a try queued at the pool keeps this object, and most have neither (16 bytes a task).
    if (task.walltimeMs !== undefined) wire.walltimeMs = task.walltimeMs;
    if (task.bash !== undefined) wire.bash = task.bash;
    if (task.after !== undefined) wire.after = task.after;
    return { fn: task.fn, wire };
  } catch (error) {
    return { taskId: task.taskId, attempt: task.attempt, ok: false, error };
  }
}

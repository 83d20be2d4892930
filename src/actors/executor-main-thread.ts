import { spawnBehaviour, send, type Behaviour, type Ref } from './actor.ts';
import type { ExecTask, FromExecutor, TaskOutcome, ToExecutor } from './messages.ts';
import { MAIN_THREAD_EXECUTOR_LABEL } from '../executors/executor.ts';
import { KernelClosedError, TaskCancelledError } from '../common/errors.ts';
import { runInTask } from '../worker/task-context.ts';

/**
 * The manager of Parsl's internal executor: runs join apps in this thread (they call other
 * apps, so they need the kernel at hand), and stage-in and stage-out tasks (they wait on sockets). Their futures are passed back unchanged; the DFK
 * waits for them.
 */
class MainThreadManager implements Behaviour<ToExecutor> {
  readonly #dfk: Ref<FromExecutor>;
  /** Async join functions still running, by task id: what aborts their `taskSignal()`. */
  readonly #running = new Map<number, { attempt: number; controller: AbortController }>();

  constructor(dfk: Ref<FromExecutor>) {
    this.#dfk = dfk;
  }

  receive(msg: ToExecutor): void {
    if (msg.type === 'shutdown') {
      // Nothing a run starts outlives it: async join apps and staging transfers see their signal abort.
      for (const { controller } of this.#running.values()) controller.abort(new KernelClosedError('the DataFlowKernel was cleared'));
      this.#running.clear();
      return msg.done();
    }
    if (msg.type === 'cancel') {
      const running = this.#running.get(msg.taskId);
      if (running?.attempt === msg.attempt) running.controller.abort(new TaskCancelledError(`task ${msg.taskId} was cancelled while running`));
      return msg.handled();
    }
    const outcomes: TaskOutcome[] = [];
    for (const task of msg.tasks) {
      const outcome = this.#run(task);
      if (outcome) outcomes.push(outcome);
    }
    if (outcomes.length > 0) send(this.#dfk, { type: 'results', outcomes });
  }

  #run(task: ExecTask): TaskOutcome | undefined {
    const { taskId, attempt } = task;
    const controller = new AbortController();
    try {
      const value: unknown = runInTask(controller.signal, () => task.local(...task.args));
      if (value instanceof Promise) {
        // An async join function: report when its promise settles.
        this.#running.set(taskId, { attempt, controller });
        const report = (outcome: TaskOutcome): void => {
          if (this.#running.get(taskId)?.controller === controller) this.#running.delete(taskId);
          send(this.#dfk, { type: 'results', outcomes: [outcome] });
        };
        value.then(
          (v: unknown) => report({ taskId, attempt, ok: true, value: v }),
          (error: unknown) => report({ taskId, attempt, ok: false, error }),
        );
        return undefined;
      }
      return { taskId, attempt, ok: true, value };
    } catch (error) {
      return { taskId, attempt, ok: false, error };
    }
  }
}

/** Spawns the manager of join apps under the DFK supervisor. */
export function spawnMainThreadExecutor(parent: Ref<unknown>, dfk: Ref<FromExecutor>): Ref<ToExecutor> {
  return spawnBehaviour<ToExecutor, MainThreadManager>(parent, MAIN_THREAD_EXECUTOR_LABEL, () => new MainThreadManager(dfk));
}

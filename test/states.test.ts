import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppFuture, clear, Config, FINAL_STATES, IllegalStateError, load, ThreadPoolExecutor, type TaskState } from '../src/index.ts';
import { TASK_TRANSITIONS, transition } from '../src/internal.ts';

const ALL: TaskState[] = ['pending', 'launched', 'running', 'joining', 'exec_done', 'memo_done', 'failed', 'dep_fail'];

function futureIn(path: TaskState[]): AppFuture<unknown> {
  const future = new AppFuture<unknown>(1, 'probe', { cancel: () => false });
  for (const state of path) transition(future, state);
  return future;
}

/** A legal way from 'pending' to each state. */
const PATH_TO: Record<TaskState, TaskState[]> = {
  pending: [],
  launched: ['launched'],
  running: ['launched', 'running'],
  joining: ['launched', 'running', 'joining'],
  exec_done: ['launched', 'exec_done'],
  memo_done: ['memo_done'],
  failed: ['failed'],
  dep_fail: ['dep_fail'],
};

test('task states - the table allows exactly its transitions; any other throws IllegalStateError', () => {
  for (const from of ALL) {
    for (const to of ALL) {
      const future = futureIn(PATH_TO[from]);
      assert.is(future.state, from);
      if (TASK_TRANSITIONS[from].includes(to)) {
        transition(future, to);
        assert.is(future.state, to, `${from} -> ${to}`);
      } else {
        assert.throws(
          () => transition(future, to),
          (e: unknown) => e instanceof IllegalStateError && (e as Error).message.includes(`from '${from}' to '${to}'`),
          `${from} -> ${to} must be refused`,
        );
        assert.is(future.state, from, 'a refused transition changes nothing');
      }
    }
  }
});

test('task states - final states are never left; the others all lead somewhere', () => {
  for (const state of ALL) {
    assert.is(TASK_TRANSITIONS[state].length === 0, FINAL_STATES.has(state), state);
  }
  const illegal = (e: unknown): boolean => e instanceof IllegalStateError;
  assert.throws(() => futureIn(['launched', 'running', 'running']), illegal);
  assert.throws(() => futureIn(['launched', 'exec_done', 'failed']), illegal);
  assert.throws(() => futureIn(['running']), illegal, 'a task runs only after launch');
  assert.throws(() => futureIn(['launched', 'memo_done']), illegal, 'the memo is asked before launch');
});

test('task states - an AppFuture shows its state read-only', () => {
  const future = futureIn([]);
  assert.is((future as unknown as { setState?: unknown }).setState, undefined);
  assert.throws(() => {
    (future as unknown as { state: string }).state = 'exec_done';
  }, (e: unknown) => e instanceof TypeError);
  assert.is(future.state, 'pending');
});

test('kernel states - running, closing, closed; calls after close are refused', async () => {
  const kernel = load(new Config({ executors: [new ThreadPoolExecutor({ maxThreads: 1 })] }));
  assert.is(kernel.state, 'running');
  const closing = kernel.cleanup();
  assert.is(kernel.state, 'closing');
  assert.is(kernel.cleanup(), closing, 'a second cleanup waits for the first');
  await closing;
  assert.is(kernel.state, 'closed');
  assert.throws(
    () => kernel.submit({} as never, []),
    (e: unknown) => e instanceof IllegalStateError && /current state: closed/.test((e as Error).message),
  );
  await clear();
});

test.run();

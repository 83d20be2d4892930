import type { TaskState } from '../apps/task-states.ts';
import type { Config } from '../config/config.ts';
import type { ProgressCounts, ProgressLine } from '../monitoring/progress.ts';

/** How often the line reads the counts: a few times a second (ProgressLine throttles redraws too). */
const PROGRESS_PERIOD_MS = 250;

/** The live progress line of a run, or nothing. */
export interface RunProgress {
  /** Draws the final counts and leaves the line in the terminal. */
  close(): void;
}

/**
 * Shows one live line (done, running, pending, failed, rate, ETA) while the run goes, when
 * `Config.progress` is on and stdout is a terminal. It reads the DFK's task state counts on an
 * unref'd timer rather than on each transition, so that a burst of 100k tasks costs nothing
 * more, and the timer never keeps the process alive.
 */
export function startProgress(config: Config, counts: () => Partial<Record<TaskState, number>>): RunProgress | undefined {
  if (!config.progress || process.stdout.isTTY !== true) return undefined;
  // The line's module loads log-update and its ~20 modules (~40 ms): only for runs that show it,
  // and not before `load()` returns. A run that closes before it has loaded draws its final line then.
  let line: ProgressLine | undefined;
  let closed = false;
  const update = (): void => line?.update(progressCounts(counts()));
  const timer = setInterval(update, PROGRESS_PERIOD_MS).unref();
  import('../monitoring/progress.ts').then(
    (module) => {
      line = new module.ProgressLine({ stream: process.stdout });
      update();
      if (closed) line.close();
    },
    (error: unknown) => process.emitWarning(`parsl-ts: no progress line: ${String(error)}`),
  );
  return {
    close() {
      clearInterval(timer);
      closed = true;
      update();
      line?.close();
    },
  };
}

/** The DFK's states as the line's four numbers. */
export function progressCounts(c: Partial<Record<TaskState, number>>): ProgressCounts {
  return {
    done: (c.exec_done ?? 0) + (c.memo_done ?? 0),
    running: (c.running ?? 0) + (c.joining ?? 0),
    pending: (c.pending ?? 0) + (c.launched ?? 0),
    failed: (c.failed ?? 0) + (c.dep_fail ?? 0),
  };
}

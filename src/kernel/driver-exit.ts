/**
 * Nothing outlives its driver: a loaded kernel is stopped (blocks cancelled at their providers,
 * workers stopped, the embedded nats-server stopped with its JetStream store kept on disk) on
 * every way the driver process can end that it sees:
 *
 * - the script is done (`beforeExit`: the event loop is empty; the kernel holds the process
 *   while tasks are outstanding, so nothing is left to run) and never called `clear()`;
 * - an uncaught exception, or an unhandled rejection (Node turns it into one): after the
 *   cleanup it is thrown again, so Node prints it as it would have and exits with status 1;
 * - SIGINT or SIGTERM: after the cleanup the process dies of the same signal, as Node's would.
 *
 * A script with a handler of its own for an event keeps full control of it. A `kill -9` is seen
 * by nobody: the nats-server ends by a parent-death signal (nats/server.ts), blocks when the DFK
 * has been silent for their heartbeat threshold.
 */
import { retainStoresOnStop } from '../nats/server.ts';

/** How long a driver that is ending waits for the kernel to stop before it goes on ending. */
export const DRIVER_END_CLEANUP_MS = 60_000;

/**
 * Shared by every copy of parsl-ts in the process (a script may import another copy than
 * `parsl-ts run` did): marks their listeners, and holds the stops under way, so that the driver
 * ends after the last kernel has stopped, and no copy takes another's listener for the script's.
 */
const SHARED_KEY = Symbol.for('parsl-ts.driver-end');
interface Shared {
  listeners: WeakSet<(...args: never[]) => unknown>;
  stopping: Set<Promise<void>>;
}
function shared(): Shared {
  const holder = globalThis as unknown as Record<symbol, Shared | undefined>;
  return (holder[SHARED_KEY] ??= { listeners: new WeakSet(), stopping: new Set() });
}

/** What the hooks need of a kernel. */
export interface EndableKernel {
  readonly state: string;
  cleanup(): Promise<void>;
}

/**
 * Installs the hooks for `kernel`; the returned function removes them (the kernel calls it when
 * it is cleared). Signal handlers are installed only if the process has none yet, as `parsl-ts
 * run` (or a script) that handles signals itself stops the kernel in its own way.
 */
export function watchDriverEnd(kernel: EndableKernel): () => void {
  let ending = false;
  const watchSignals = process.listenerCount('SIGINT') === 0 && process.listenerCount('SIGTERM') === 0;

  const uninstall = (): void => {
    process.off('beforeExit', onBeforeExit);
    process.off('uncaughtException', onUncaught);
    if (watchSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  };

  /** Stops the kernel as the driver ends, then `then()` once every kernel that was stopping has stopped. */
  const end = (then: () => void): void => {
    ending = true;
    uninstall();
    retainStoresOnStop();
    const { stopping } = shared();
    const stopped = stopWithin(kernel, DRIVER_END_CLEANUP_MS);
    stopping.add(stopped);
    void stopped.then(async () => {
      stopping.delete(stopped);
      await Promise.allSettled([...stopping]);
      then();
    });
  };

  function onBeforeExit(): void {
    if (ending || kernel.state === 'closed') return uninstall();
    end(() => {});
  }

  function onUncaught(error: unknown, origin: NodeJS.UncaughtExceptionOrigin): void {
    // A handler that is not one of ours is the script's own: it decides what an uncaught error means.
    const { listeners } = shared();
    if (process.listeners('uncaughtException').some((listener) => !listeners.has(listener))) return;
    // Errors while the kernel stops are not ours to report: the first one ends the process.
    const ignoreMore = (): void => {};
    shared().listeners.add(ignoreMore);
    process.on('uncaughtException', ignoreMore);
    end(() => {
      process.off('uncaughtException', ignoreMore);
      rethrow(error, origin);
    });
  }

  function onSignal(signal: NodeJS.Signals): void {
    end(() => process.kill(process.pid, signal));
  }

  process.on('beforeExit', onBeforeExit);
  shared().listeners.add(onUncaught);
  process.on('uncaughtException', onUncaught);
  if (watchSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  return uninstall;
}

/**
 * Hands an error back to Node, which prints it and exits with status 1 as it would have. An
 * `Error` goes back as a rejection where that is fatal: Node then points at the line that made
 * it (its stack), where a `throw` from here would point at this file.
 */
function rethrow(error: unknown, origin: NodeJS.UncaughtExceptionOrigin): void {
  const rejectionIsFatal = rejectionsMode() === 'throw' || rejectionsMode() === 'strict';
  if (origin === 'unhandledRejection' || (error instanceof Error && rejectionIsFatal && process.listenerCount('unhandledRejection') === 0)) {
    void Promise.reject(error);
    return;
  }
  setImmediate(() => {
    throw error;
  });
}

/** Node's `--unhandled-rejections` mode (`throw` unless set on the command line or in NODE_OPTIONS). */
function rejectionsMode(): string {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  let mode = 'throw';
  for (const flag of flags) {
    const match = /^--unhandled-rejections=(\w+)$/.exec(flag);
    if (match) mode = match[1]!;
  }
  return mode;
}

/** `kernel.cleanup()`, holding the process open meanwhile, giving up after `ms`. */
async function stopWithin(kernel: EndableKernel, ms: number): Promise<void> {
  const hold = setInterval(() => {}, 1 << 30);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      process.stderr.write(`parsl-ts: the DataFlowKernel did not stop within ${ms} ms; the driver ends anyway\n`);
      resolve();
    }, ms);
  });
  try {
    await Promise.race([kernel.cleanup().catch((error: unknown) => {
      process.stderr.write(`parsl-ts: stopping the DataFlowKernel failed: ${String(error)}\n`);
    }), late]);
  } finally {
    clearTimeout(timer);
    clearInterval(hold);
  }
}

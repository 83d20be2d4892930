import { DataFlowKernel } from './actors/kernel.ts';
import { peekCurrentKernel, setCurrentKernel } from './actors/current.ts';
import { Config } from './config/config.ts';
import { IllegalStateError, NoKernelError } from './errors.ts';

/**
 * Starts a DataFlowKernel with `config` (default: a `ThreadPoolExecutor` with one worker per
 * core) and makes it the one app calls go to. `await using dfk = load()` clears it at the end
 * of the scope.
 */
export function load(config: Config = new Config()): DataFlowKernel {
  if (peekCurrentKernel()) {
    throw new IllegalStateError('a DataFlowKernel is already loaded; call clear() before loading another config');
  }
  const kernel = new DataFlowKernel(config);
  setCurrentKernel(kernel);
  return kernel;
}

/** The loaded DataFlowKernel; throws if none is loaded. */
export function dfk(): DataFlowKernel {
  const kernel = peekCurrentKernel();
  if (!kernel) throw new NoKernelError();
  return kernel as DataFlowKernel;
}

/** Waits until every task called so far has ended. */
export function waitForCurrentTasks(): Promise<void> {
  return dfk().waitForCurrentTasks();
}

/** Stops the loaded kernel (outstanding tasks fail with `KernelClosedError`), so another can be loaded. */
export async function clear(): Promise<void> {
  const kernel = peekCurrentKernel() as DataFlowKernel | undefined;
  if (kernel) await kernel.cleanup();
  setCurrentKernel(undefined);
}

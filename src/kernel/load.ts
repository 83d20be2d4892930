import { DataFlowKernel } from './kernel.ts';
import { peekCurrentKernel, setCurrentKernel } from '../apps/current-kernel.ts';
import type { Config } from '../config/config.ts';
import { defaultConfig, noteLoadedKernel } from '../config/from-environment.ts';
import { IllegalStateError, NoKernelError } from '../common/errors.ts';

/**
 * Starts a DataFlowKernel with `config` and makes it the one app calls go to.
 * `await using dfk = load()` clears it at the end of the scope.
 *
 * Without a config: the one `parsl-ts run` chose (`--config`, `--threads`…), else
 * `PARSL_TS_THREADS`/`PARSL_TS_RETRIES` from the environment, else a `ThreadPoolExecutor`
 * with one worker per core.
 */
export function load(config?: Config): DataFlowKernel {
  if (peekCurrentKernel()) {
    throw new IllegalStateError('a DataFlowKernel is already loaded; call clear() before loading another config');
  }
  const kernel = new DataFlowKernel(config ?? defaultConfig());
  setCurrentKernel(kernel);
  noteLoadedKernel(kernel);
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

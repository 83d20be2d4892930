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
 *
 * @example
 * ```ts
 * await using dfk = load(new Config({ retries: 2 }));   // cleared at the end of the scope
 * console.log(dfk.runDir);                              // /…/runinfo/000
 * ```
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

/**
 * The loaded DataFlowKernel; throws if none is loaded.
 *
 * @example
 * ```ts
 * load();
 * await dfk().checkpoint();
 * console.log(dfk().taskStateCounts);   // { exec_done: 3, … }
 * ```
 */
export function dfk(): DataFlowKernel {
  const kernel = peekCurrentKernel();
  if (!kernel) throw new NoKernelError();
  return kernel as DataFlowKernel;
}

/**
 * Waits until every task called so far has ended.
 *
 * @example
 * ```ts
 * for (let i = 0; i < 10; i++) void double(i);
 * await waitForCurrentTasks();          // every task submitted so far is done
 * ```
 */
export function waitForCurrentTasks(): Promise<void> {
  return dfk().waitForCurrentTasks();
}

/**
 * Stops the loaded kernel (outstanding tasks fail with `KernelClosedError`), so another can be loaded.
 *
 * @example
 * ```ts
 * load();
 * await double(2);
 * await clear();                        // blocks cancelled, servers stopped
 * ```
 */
export async function clear(): Promise<void> {
  const kernel = peekCurrentKernel() as DataFlowKernel | undefined;
  if (kernel) await kernel.cleanup();
  setCurrentKernel(undefined);
}

import { Worker, type ResourceLimits, type WorkerOptions } from 'node:worker_threads';

const entry = new URL(`./main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * Starts a worker thread running `worker-thread`. From the built package that is a plain
 * `.js` file. From the TypeScript sources (tests, `tsx script.ts`), the thread first registers
 * tsx's loader and then imports the `.ts` entry: a worker does not inherit the loader hooks of
 * a script started by the tsx CLI, and a `.ts` entry given to `new Worker` is refused.
 */
export function spawnThread(
  workerData: unknown,
  transferList: WorkerOptions['transferList'],
  resourceLimits?: ResourceLimits,
): Worker {
  const options: WorkerOptions = { workerData, transferList, resourceLimits, stdout: false, stderr: false };
  if (entry.pathname.endsWith('.js')) return new Worker(entry, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); ` +
    `return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

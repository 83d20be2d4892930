import { Worker, type ResourceLimits, type WorkerOptions } from 'node:worker_threads';
import { entryUrl } from '../common/package-files.ts';
import { startupMark } from '../common/startup-trace.ts';

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
  const spare = resourceLimits === undefined ? spares.shift() : undefined;
  if (spare) {
    spare.postMessage(workerData, transferList);
    return spare;
  }
  const options: WorkerOptions = {
    workerData,
    transferList,
    resourceLimits,
    stdout: false,
    stderr: false,
    execArgv: workerExecArgv(process.execArgv),
  };
  return spawnEntryThread(entryUrl('worker/main'), options);
}

/**
 * A worker thread made with this as its `workerData` waits for its real data as its first
 * message on `parentPort` (see `prestartWorkerThreads`).
 */
export const DEFERRED_START = 'parsl-ts.deferred-start';

/** Threads started ahead of need, not yet given to a worker; each is online or on its way. */
const spares: Worker[] = [];

/**
 * Starts `count` worker threads (without resource limits) now, for the next `spawnThread`s to
 * take: a thread takes 25–50 ms to boot, which then runs while the caller does other work
 * (the kernel's start, a block's NATS connection and registration) instead of after it.
 */
export function prestartWorkerThreads(count: number): void {
  while (spares.length < count) {
    const thread = spawnEntryThread(entryUrl('worker/main'), {
      workerData: DEFERRED_START,
      stdout: false,
      stderr: false,
      execArgv: workerExecArgv(process.execArgv),
    });
    // A spare never taken must not keep the process alive.
    thread.unref();
    thread.once('online', () => startupMark('thread online'));
    thread.once('exit', () => {
      const at = spares.indexOf(thread);
      if (at >= 0) spares.splice(at, 1);
    });
    spares.push(thread);
  }
}

/** Ends the started threads that no worker took. */
export function endSpareThreads(): Promise<unknown> {
  return Promise.all(spares.splice(0).map((thread) => thread.terminate()));
}

/** Starts a worker thread running the module `entry` (`.js` as is; `.ts` through tsx's loader, as above). */
export function spawnEntryThread(entry: URL, options: WorkerOptions): Worker {
  options = { execArgv: workerExecArgv(process.execArgv), ...options };
  if (entry.pathname.endsWith('.js')) return new Worker(entry, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); ` +
    `return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/**
 * Options a worker thread takes from its process's command line: those that shape how modules
 * load and how warnings show. A thread inherits every option by default, and some are not
 * meant for it: `--input-type` (from `node --input-type=module -e …` or a script piped on
 * stdin) makes a thread that runs a file die at start ("--input-type can only be used with
 * string input"), and V8 or process-wide options are refused in an explicit list
 * (ERR_WORKER_INVALID_EXEC_ARGV).
 */
const FOR_WORKERS = new Set([
  '--import',
  '--require',
  '-r',
  '--loader',
  '--experimental-loader',
  '--conditions',
  '-C',
  '--enable-source-maps',
  '--preserve-symlinks',
  '--no-warnings',
  '--no-deprecation',
  '--disable-warning',
  '--trace-warnings',
  '--trace-deprecation',
  '--throw-deprecation',
  '--pending-deprecation',
  '--trace-uncaught',
  '--unhandled-rejections',
]);

/** Options whose value may be the next element of `execArgv` (`--import tsx`, `-e 'code'`). */
const TAKES_VALUE = new Set([
  '--import',
  '--require',
  '-r',
  '--loader',
  '--experimental-loader',
  '--conditions',
  '-C',
  '--disable-warning',
  '--unhandled-rejections',
  '--eval',
  '-e',
  '--print',
  '-p',
  '--input-type',
  '--title',
  '--env-file',
  '--inspect-port',
  '--debug-port',
  '--watch-path',
  '--test-name-pattern',
  '--test-reporter',
  '--test-reporter-destination',
]);

/** The part of `execArgv` meant for worker threads (see `FOR_WORKERS`). */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = arg.startsWith('--') ? arg.split('=', 1)[0]! : arg;
    const hasInlineValue = arg.includes('=');
    // A value in the next element: an option known to take one, or any word that does not look like an option.
    const next = execArgv[i + 1];
    const takesNext = !hasInlineValue && next !== undefined && (TAKES_VALUE.has(name) || !next.startsWith('-'));
    // Experimental features are per thread, but for the permission model, which is per process.
    const keep = FOR_WORKERS.has(name) || (/^--(no-)?experimental-/.test(name) && !name.includes('permission'));
    if (keep) kept.push(arg);
    if (takesNext) {
      if (keep) kept.push(next);
      i++;
    }
  }
  return kept;
}

import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Run directories, laid out as Parsl lays them out: every `load()` gets the next numbered
 * folder of `Config.runDir` (`runinfo/000`, `runinfo/001`, …), which holds everything the
 * run leaves behind, so that nothing is left in `/tmp` and a resumed run finds it all:
 *
 * ```
 * runinfo/
 * └── 003/
 *     ├── checkpoint/      results.sqlite (+ -wal, -shm): the memoized results
 *     ├── task_logs/0000/  task_0042_sortNumbers.stdout (AUTO_LOGNAME)
 *     ├── submit_scripts/  the blocks' scripts and their stdout/stderr
 *     └── nats/            the embedded NATS server's JetStream store and log
 * ```
 */

/** Parsl's default `run_dir`. */
export const DEFAULT_RUN_DIR = 'runinfo';

/** Where run directories go when the config names none (the test runner points it at a temporary folder). */
export const RUN_DIR_ENV = 'PARSL_TS_RUN_DIR';

/** `Config.runDir`'s default: `$PARSL_TS_RUN_DIR`, else `runinfo`. */
export function defaultRunDir(): string {
  return process.env[RUN_DIR_ENV] || DEFAULT_RUN_DIR;
}

/** The folders of a run directory, named once. */
export const RUN_SUBDIRS = {
  checkpoint: 'checkpoint',
  taskLogs: 'task_logs',
  submitScripts: 'submit_scripts',
  nats: 'nats',
} as const;

/** Run folders are named by a number only; anything else in `runDir` is not a run. */
const RUN_NAME = /^[0-9]+$/;

/**
 * How many times `makeRunDir` tries to claim a number that another driver claimed first.
 * Each loss means another driver made a directory in the meantime, so the limit is only
 * reached by a storm of drivers starting together.
 */
const MAX_CLAIM_TRIES = 100;

/** A run directory and its folders (absolute paths). */
export interface RunDir {
  /** `<runDir>/NNN` */
  path: string;
  /** The run's number: 0 for `000`. */
  number: number;
  checkpoint: string;
  taskLogs: string;
  submitScripts: string;
  nats: string;
}

/** The paths of the run directory at `path` (which need not exist). */
export function runDirAt(path: string): RunDir {
  const absolute = resolve(path);
  const name = absolute.slice(absolute.lastIndexOf('/') + 1);
  return {
    path: absolute,
    number: RUN_NAME.test(name) ? Number(name) : Number.NaN,
    checkpoint: join(absolute, RUN_SUBDIRS.checkpoint),
    taskLogs: join(absolute, RUN_SUBDIRS.taskLogs),
    submitScripts: join(absolute, RUN_SUBDIRS.submitScripts),
    nats: join(absolute, RUN_SUBDIRS.nats),
  };
}

/** Parsl's naming: three digits at least (`000`), more when needed (`1000`). */
export function runDirName(number: number): string {
  return String(number).padStart(3, '0');
}

/** The run folders of `runDir` (numbered directories only), sorted by number, oldest first. */
export function listRunDirs(runDir: string = DEFAULT_RUN_DIR): RunDir[] {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
  return names
    .filter((name) => RUN_NAME.test(name) && isDirectory(join(runDir, name)))
    .map((name) => runDirAt(join(runDir, name)))
    .sort((a, b) => a.number - b.number);
}

/**
 * Makes the next numbered run directory in `runDir` (creating `runDir` if needed) with its
 * folders, and returns it. Safe when several drivers start at once in the same `runDir`:
 * the number is claimed with a `mkdir` that fails if the folder exists (atomic on every
 * file system, NFS included), and a driver that loses the race takes the next number.
 * Parsl does the same with 3 tries and a random back-off; here a loss always means that
 * another driver succeeded, so trying the next number at once cannot livelock.
 */
export function makeRunDir(runDir: string = DEFAULT_RUN_DIR): RunDir {
  mkdirSync(runDir, { recursive: true });
  const runs = listRunDirs(runDir);
  let next = runs.length === 0 ? 0 : runs[runs.length - 1]!.number + 1;
  for (let attempt = 1; ; attempt++) {
    const path = join(runDir, runDirName(next));
    try {
      mkdirSync(path); // not recursive: fails with EEXIST when another driver has it
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= MAX_CLAIM_TRIES) throw error;
      next++;
      continue;
    }
    const run = runDirAt(path);
    makeFolders(run);
    return run;
  }
}

/** The newest run directory of `runDir` (for `resume: 'latest'`), or undefined if there is none. */
export function latestRunDir(runDir: string = DEFAULT_RUN_DIR): RunDir | undefined {
  const runs = listRunDirs(runDir);
  return runs[runs.length - 1];
}

/**
 * As a bash app's `stdout` or `stderr` (app option or call option): the task gets its own file
 * under the run directory, `taskLogPath(...)`, which `future.stdout`/`future.stderr` return.
 *
 * @example
 * ```ts
 * const greet = bashApp((_o: { stdout: string }) => 'echo hello', { name: 'greet' });
 * const f = greet({ stdout: AUTO_LOGNAME });
 * await f;
 * console.log(f.stdout);                // runinfo/000/task_logs/0000/task_0001_greet.stdout
 * ```
 */
export const AUTO_LOGNAME = 'parsl-ts:AUTO_LOGNAME';

/** Tasks per `task_logs` folder: Parsl's "limit logs to 10k entries per directory". */
export const TASK_LOGS_PER_FOLDER = 10_000;

/**
 * Where `AUTO_LOGNAME` puts a task's stdout or stderr, named as Parsl names it:
 * `<run dir>/task_logs/0000/task_0042_sortNumbers.stdout`; tasks 0–9999 in `0000`,
 * 10000–19999 in `0001`, … An app `label` (Parsl's) is appended to the app name.
 * The folder is not created here: whoever opens the file makes it.
 */
export function taskLogPath(
  runDir: string | RunDir,
  taskId: number,
  appName: string,
  stream: 'stdout' | 'stderr',
  label?: string,
): string {
  if (!Number.isSafeInteger(taskId) || taskId < 0) throw new RangeError(`taskId must be a non-negative integer, got ${taskId}`);
  const taskLogs = typeof runDir === 'string' ? runDirAt(runDir).taskLogs : runDir.taskLogs;
  const folder = String(Math.floor(taskId / TASK_LOGS_PER_FOLDER)).padStart(4, '0');
  const name = `task_${String(taskId).padStart(4, '0')}_${safeName(appName)}${label === undefined ? '' : `_${safeName(label)}`}.${stream}`;
  return join(taskLogs, folder, name);
}

/** An app name as part of a file name: a `/` (possible in `name` options) would make a folder. */
function safeName(name: string): string {
  return name.replace(/[/\\\0]/g, '_');
}

function makeFolders(run: RunDir): void {
  for (const folder of [run.checkpoint, run.taskLogs, run.submitScripts, run.nats]) mkdirSync(folder, { recursive: true });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The run directory a resumed run works in: `'latest'` (the newest run of `runDir`) or the
 * path of a run directory. Its folders are made if missing (a run from an older version).
 * Throws when there is nothing to resume, naming what was looked for.
 */
export function resumeRunDir(resume: string, runDir: string = DEFAULT_RUN_DIR): RunDir {
  let run: RunDir | undefined;
  if (resume === 'latest') {
    run = latestRunDir(runDir);
    if (!run) throw new Error(`resume: 'latest' found no run directory in ${resolve(runDir)} (nothing to resume)`);
  } else {
    if (!isDirectory(resume)) throw new Error(`resume: ${resolve(resume)} is not a directory (expected a run directory such as ${join(runDir, '000')})`);
    run = runDirAt(resume);
  }
  makeFolders(run);
  return run;
}

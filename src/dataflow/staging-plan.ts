/**
 * Staging as tasks in the graph, Parsl's `DataManager` wired into `submit`: for each `File`
 * a call reads (a positional argument, a value of its options object, an item of `inputs`)
 * and each it writes (`outputs`), the executor's `storageAccess` picks a provider.
 *
 * - A separate-task provider (`HTTPSeparateTaskStaging`, `FTPSeparateTaskStaging`, zip,
 *   SFTP, Globus) gets a stage-in task of its own (`_http_stage_in`…, with its own task id,
 *   states, retries and monitoring rows) and the call waits on it: the file is replaced by the
 *   `DataFuture` of that task, which resolves to a copy of the file whose `filepath` is the
 *   local copy. An output gets a stage-out task (`_sftp_stage_out`…) after the app, and the
 *   output's `DataFuture` resolves when that task has delivered the file. These tasks run in
 *   the driver, on Parsl's internal executor (their work is waiting on sockets): the local
 *   copies live in the executor's `workingDir`, which workers elsewhere must share.
 * - An in-task provider (`HTTPInTaskStaging`, `FTPInTaskStaging`, `RSyncStaging`) stages in
 *   the worker, around the app: the file travels marked with what to do (see
 *   staging/in-task.ts), on the worker's own file system.
 * - A local file needs nothing (`NoOpFileStaging`). A file that no provider of the executor
 *   can stage fails the call at once, naming the URL and the providers tried.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AppDefinition } from '../apps/app.ts';
import { DataFuture, type AppFuture } from '../apps/future.ts';
import type { Executor } from '../executors/executor.ts';
import type { ExecutorStagingOptions } from '../executors/staging-options.ts';
import { File } from '../staging/file.ts';
import { inTaskSpecOf } from '../staging/in-task.ts';
import { outputLocalPath, type StagingProvider } from '../staging/provider.ts';
import { chooseStagingProvider, defaultStorageAccess } from '../staging/staging.ts';
import { taskSignal } from '../worker/task-context.ts';
import type { RunDir } from './run-dir.ts';
import { driverApp, isDriverApp } from './driver-apps.ts';
import { executorNearObjects, isObjectFile, noteObjectOutput, objectWriterOf, relayObject } from './staging-relay.ts';

const appsOfProvider = new WeakMap<StagingProvider, { in?: AppDefinition; out?: AppDefinition }>();

/** True for the stage-in, stage-out and relay apps (Parsl's `_parsl_staging_inhibit`). */
export const isStagingApp = isDriverApp;

/** Parsl's names: `HTTPSeparateTaskStaging` → `_http_stage_in`, `ZipFileStaging` → `_zip_stage_out`. */
export function stagingAppName(provider: StagingProvider, direction: 'in' | 'out'): string {
  const short = provider.name.replace(/(File)?(SeparateTask|InTask)?Staging$/, '').toLowerCase() || 'file';
  return `_${short}_stage_${direction}`;
}

/** The app that stages files in (or out) with `provider`: one per provider and direction. */
function stagingApp(provider: StagingProvider, direction: 'in' | 'out'): AppDefinition {
  let apps = appsOfProvider.get(provider);
  if (!apps) appsOfProvider.set(provider, (apps = {}));
  const known = apps[direction];
  if (known) return known;
  const name = stagingAppName(provider, direction);
  const slots = slotsOf(provider);
  // Arguments: the file, the work directory, then the dependency the task waits on (ignored here).
  const fn =
    direction === 'in'
      ? (file: File, workDir: string): Promise<string> => slots.run(taskSignal(), (signal) => provider.stageIn(file, workDir, { signal }))
      : (file: File, workDir: string): Promise<void> => slots.run(taskSignal(), (signal) => provider.stageOut(file, workDir, { signal }));
  const app = driverApp(name, import.meta.url, fn);
  apps[direction] = app;
  return app;
}

/**
 * Staging tasks of one provider that transfer at once; the others wait their turn. Parsl's
 * staging tasks are bounded by the executor's workers; here they run in the driver, where a
 * thousand inputs would otherwise open a thousand connections to one server.
 */
export const STAGING_TASKS_AT_ONCE = 16;

/** A FIFO of at most `STAGING_TASKS_AT_ONCE` transfers per provider. */
class TransferSlots {
  #free = STAGING_TASKS_AT_ONCE;
  readonly #waiting: (() => void)[] = [];

  async run<T>(signal: AbortSignal, transfer: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          const at = this.#waiting.indexOf(take);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(signal.reason as Error);
        };
        const take = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.#waiting.push(take);
      });
    }
    try {
      return await transfer(signal);
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

const slotsOfProvider = new WeakMap<StagingProvider, TransferSlots>();
function slotsOf(provider: StagingProvider): TransferSlots {
  let slots = slotsOfProvider.get(provider);
  if (!slots) slotsOfProvider.set(provider, (slots = new TransferSlots()));
  return slots;
}

/** What the kernel needs to submit staging tasks. */
export type SubmitTask = (app: AppDefinition, args: unknown[]) => AppFuture<unknown>;

/** The staging of one call, chosen; `stageIn` and `stageOut` submit its tasks. */
export interface CallStaging {
  /** The executor the call must run on (its providers were chosen), when the choice matters. */
  readonly executor: string | undefined;
  /** The call's output files as its `DataFuture`s hold them (local copies named). */
  readonly outputs: File[];
  /** Submits the stage-in tasks; returns the call's arguments with the files replaced. */
  stageIn(): unknown[];
  /** Submits the stage-out tasks after the call (its future known); ties each output's `DataFuture` to its task. */
  stageOut(future: AppFuture<unknown>): void;
}

/** Plans the staging of calls for the executors of one kernel. */
export class StagingPlanner {
  readonly #executors: Map<string, ExecutorStagingOptions>;
  readonly #labels: string[];
  /** HTEX executors: only their blocks have an object store (nats:// files are relayed between them). */
  readonly #htex: Set<string>;
  readonly #defaultWorkDir: string;
  readonly #defaultStorageAccess = defaultStorageAccess();
  readonly #submit: SubmitTask;
  readonly #madeDirs = new Set<string>();
  /** Executors whose staging options are all alike: a call needs no executor pinned. */
  readonly #uniform: boolean;

  constructor(executors: readonly Executor[], run: RunDir, submit: SubmitTask) {
    this.#executors = new Map(executors.map((e) => [e.label, stagingOptionsOf(e)]));
    this.#labels = executors.map((e) => e.label);
    this.#htex = new Set(executors.filter((e) => e.kind === 'htex').map((e) => e.label));
    this.#defaultWorkDir = join(run.path, 'staging');
    this.#submit = submit;
    const all = [...this.#executors.values()];
    this.#uniform = all.every((o) => o.storageAccess === all[0]?.storageAccess && o.workingDir === all[0]?.workingDir);
  }

  /**
   * Chooses providers for the call's files; undefined when the call has no file to stage.
   * Throws `StagingError` for a file no provider can stage (nothing is submitted then).
   */
  plan(app: AppDefinition, args: unknown[], kwargsIndex: number, outputs: readonly File[]): CallStaging | undefined {
    // A join app runs in the driver and hands its files to the apps it calls, which stage them.
    if (isStagingApp(app) || app.kind === 'join') return undefined;
    const files = inputFiles(args, kwargsIndex);
    if (files.length === 0 && outputs.length === 0) return undefined;
    // nats:// files: a writer is pinned where its object will be; a reader goes there if it may.
    const objectIns = files.map((f) => (f.value instanceof DataFuture ? f.value.file : f.value)).filter(isObjectFile);
    const pin = objectIns.length > 0 || outputs.some(isObjectFile);
    const label = (pin && executorNearObjects(objectIns, this.#allowed(app))) || this.#executorOf(app, pin);
    const options = this.#executors.get(label) ?? {};
    const storageAccess = options.storageAccess ?? this.#defaultStorageAccess;
    const workDir = options.workingDir ?? this.#defaultWorkDir;

    const ins: { place: Place; file: File; upstream: DataFuture | undefined; provider: StagingProvider }[] = [];
    for (const { place, value } of files) {
      const upstream = value instanceof DataFuture ? value : undefined;
      const file = upstream ? upstream.file : (value as File);
      const provider = chooseStagingProvider(file, 'in', storageAccess);
      if (provider.name === 'NoOpFileStaging') continue;
      ins.push({ place, file, upstream, provider });
    }
    const outs: { index: number; file: File; provider: StagingProvider; taskFile: File }[] = [];
    for (let index = 0; index < outputs.length; index++) {
      const file = outputs[index]!;
      const provider = chooseStagingProvider(file, 'out', storageAccess);
      if (provider.name === 'NoOpFileStaging') continue;
      // The app writes here; the DataFuture's file names it too.
      const copy = file.cleancopy();
      copy.localPath = outputLocalPath(copy, workDir);
      const taskFile = provider.inTask ? markedCopy(copy, provider, 'out', workDir) : copy;
      if (provider.inTask && isObjectFile(copy)) noteObjectOutput(copy, label);
      outs.push({ index, file: copy, provider, taskFile });
    }
    const inTaskIns = ins.map((i) => (i.provider.inTask ? markedCopy(i.file, i.provider, 'in', workDir) : undefined));
    if (ins.length === 0 && outs.length === 0) return undefined;
    // Separate-task staging runs in the driver: copies land and apps write outputs here.
    if (!this.#madeDirs.has(workDir) && (ins.length > inTaskIns.filter(Boolean).length || outs.some((o) => !o.provider.inTask))) {
      mkdirSync(workDir, { recursive: true });
      this.#madeDirs.add(workDir);
    }

    const submit = this.#submit;
    const htex = this.#htex;
    const newOutputs = [...outputs];
    for (const out of outs) newOutputs[out.index] = out.file;
    return {
      executor: this.#uniform && !pin ? undefined : label,
      outputs: newOutputs,
      stageIn(): unknown[] {
        const copy = [...args];
        // The options object is copied before its values are replaced: the caller's stays as given.
        if (kwargsIndex >= 0) {
          const kwargs = { ...(args[kwargsIndex] as Record<string, unknown>) };
          if (Array.isArray(kwargs.inputs)) kwargs.inputs = [...(kwargs.inputs as unknown[])];
          copy[kwargsIndex] = kwargs;
        }
        ins.forEach((input, i) => {
          const marked = inTaskIns[i];
          if (marked) {
            // Staged by the worker: the marked copy, or once its producer is done (and its
            // object copied here from the site that wrote it).
            const writer = input.upstream && objectWriterOf(input.file);
            const ready = !input.upstream ? marked : writer && writer !== label && htex.has(writer) && htex.has(label) ? relayObject(submit, input.file, writer, label, input.upstream, marked) : follow(input.upstream, marked);
            putAt(copy, kwargsIndex, input.place, ready);
            return;
          }
          const file = input.file.cleancopy();
          const app = stagingApp(input.provider, 'in');
          const future = submit(app, input.upstream ? [file, workDir, input.upstream] : [file, workDir]);
          const staged = new DataFuture(future, file);
          future.addOutput(staged);
          putAt(copy, kwargsIndex, input.place, staged);
        });
        if (outs.length > 0 && kwargsIndex >= 0) {
          const kwargs = copy[kwargsIndex] as Record<string, unknown>;
          const taskOutputs = [...(kwargs.outputs as unknown[])];
          for (const out of outs) taskOutputs[out.index] = out.taskFile;
          kwargs.outputs = taskOutputs;
        }
        return copy;
      },
      stageOut(future: AppFuture<unknown>): void {
        for (const out of outs) {
          if (out.provider.inTask) continue; // Delivered by the worker before the app's result.
          const task = submit(stagingApp(out.provider, 'out'), [out.file, workDir, future]);
          future.outputs[out.index]?.settleWith(task);
        }
      },
    };
  }

  #allowed(app: AppDefinition): readonly string[] {
    return app.options.executors === 'all' ? this.#labels : app.options.executors;
  }

  /** The executor the call will run on, chosen now when the executors stage differently. */
  #executorOf(app: AppDefinition, pin = false): string {
    const allowed = this.#allowed(app);
    if (allowed.length === 1 || (this.#uniform && !pin)) return allowed[0]!;
    return allowed[Math.floor(Math.random() * allowed.length)]!;
  }
}

function stagingOptionsOf(executor: Executor): ExecutorStagingOptions {
  const options = (executor as { options?: ExecutorStagingOptions }).options;
  return { storageAccess: options?.storageAccess, workingDir: options?.workingDir };
}

/** A copy of `file` that the worker stages (`direction`) with `provider`, at `workDir/filename`. */
function markedCopy(file: File, provider: StagingProvider, direction: 'in' | 'out', workDir: string): File {
  const copy = file.cleancopy();
  copy.localPath = direction === 'in' ? join(workDir, copy.filename) : file.localPath;
  copy.inTaskStaging = { direction, workDir, provider: inTaskSpecOf(provider, copy, direction) };
  return copy;
}

/** A `DataFuture` of the same task as `upstream` that resolves to `file` once `upstream` does. */
function follow(upstream: DataFuture, file: File): DataFuture {
  const next = new DataFuture(upstream.parent, file);
  next.settleWith(upstream);
  return next;
}

/** Where a file sits in a call's arguments. */
type Place = { arg: number } | { key: string } | { input: number };

/** A module function, not a closure in `inputFiles`: see `resolveOne` in `arguments.ts`. */
function isFile(value: unknown): value is File | DataFuture {
  return value instanceof File || value instanceof DataFuture;
}

/**
 * The call's input files and where they sit: positional arguments, values of the options
 * object (but `outputs`) and items of its `inputs`, as deep as dependencies are looked for.
 */
function inputFiles(args: readonly unknown[], kwargsIndex: number): { place: Place; value: File | DataFuture }[] {
  const found: { place: Place; value: File | DataFuture }[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (i !== kwargsIndex) {
      if (isFile(arg)) found.push({ place: { arg: i }, value: arg });
      continue;
    }
    const kwargs = arg as Record<string, unknown>;
    for (const key of Object.keys(kwargs)) {
      const value = kwargs[key];
      if (key === 'inputs' && Array.isArray(value)) {
        value.forEach((item: unknown, j) => isFile(item) && found.push({ place: { input: j }, value: item }));
      } else if (key !== 'outputs' && isFile(value)) {
        found.push({ place: { key }, value });
      }
    }
  }
  return found;
}

/** Puts `value` at `place` in `args` (a copy whose options object and `inputs` were copied). */
function putAt(args: unknown[], kwargsIndex: number, place: Place, value: unknown): void {
  if ('arg' in place) args[place.arg] = value;
  else if ('key' in place) (args[kwargsIndex] as Record<string, unknown>)[place.key] = value;
  else ((args[kwargsIndex] as Record<string, unknown>).inputs as unknown[])[place.input] = value;
}

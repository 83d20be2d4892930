/**
 * In-task staging in the worker (Parsl's `replace_task` / `replace_task_stage_out` wrappers):
 * files the DFK marked for in-task staging (dataflow/staging-plan.ts) are staged in before the
 * app runs and out after it returned, here, on the worker's file system, with providers
 * rebuilt from their plain-data form (staging/in-task.ts). A failed stage fails the try with
 * the provider's `StagingError` (naming the URL); the DFK retries it like any failure.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { File } from '../staging/file.ts';
import type { StagingProvider } from '../staging/provider.ts';

/** The marked files of a task, by direction; undefined for a task with none (nearly all). */
export interface TaskStaging {
  stageIn: File[];
  stageOut: File[];
}

/**
 * Finds marked files where the DFK puts them: positional arguments, and the trailing options
 * object's values and its `inputs` / `outputs`. Looks at no more than that, so that a task
 * without files pays a few type checks.
 */
export function taskStagingOf(args: readonly unknown[]): TaskStaging | undefined {
  let found: TaskStaging | undefined;
  for (const arg of args) found = visit(arg, found);
  const last = args[args.length - 1];
  if (typeof last === 'object' && last !== null && Object.getPrototypeOf(last) === Object.prototype) {
    const kwargs = last as Record<string, unknown>;
    for (const key in kwargs) {
      const value = kwargs[key];
      if ((key === 'inputs' || key === 'outputs') && Array.isArray(value)) for (const item of value) found = visit(item, found);
      else found = visit(value, found);
    }
  }
  return found;
}

/**
 * Adds `value` to `found` if it is a marked file. A module function, not a closure per task:
 * esbuild's `keepNames` would name that closure with a `defineProperty` (~0.4-1 µs) each time.
 */
function visit(value: unknown, found: TaskStaging | undefined): TaskStaging | undefined {
  if (!(value instanceof File) || value.inTaskStaging === undefined) return found;
  found ??= { stageIn: [], stageOut: [] };
  (value.inTaskStaging.direction === 'in' ? found.stageIn : found.stageOut).push(value);
  return found;
}

/** Before the app: stages the inputs in, and makes the directories the outputs are written to. */
export async function beforeTask(staging: TaskStaging, signal: AbortSignal): Promise<void> {
  const providerOf = await providers();
  await Promise.all([
    ...staging.stageIn.map((file) => providerOf(file).stageIn(file, file.inTaskStaging!.workDir, { signal })),
    ...staging.stageOut.map((file) => mkdir(dirname(file.filepath), { recursive: true })),
  ]);
}

/** After the app returned: delivers its outputs. */
export async function afterTask(staging: TaskStaging, signal: AbortSignal): Promise<void> {
  const providerOf = await providers();
  await Promise.all(staging.stageOut.map((file) => providerOf(file).stageOut(file, file.inTaskStaging!.workDir, { signal })));
}

/**
 * The providers' code, imported on first use: most workers never stage, and the providers
 * bring basic-ftp and the rest (a worker thread starts faster without them).
 */
async function providers(): Promise<(file: File) => StagingProvider> {
  const { inTaskProviderOf } = await import('../staging/in-task.ts');
  return (file) => inTaskProviderOf(file.inTaskStaging!.provider);
}

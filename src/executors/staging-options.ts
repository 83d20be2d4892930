/**
 * The staging options every executor takes, Parsl's `storage_access` and `working_dir`: which
 * staging providers move a task's `File`s (the first that can stage a file does), and where
 * the local copies live.
 */
import { lazySchema, z } from '../common/zod.ts';
import type { StagingProvider } from '../staging/provider.ts';

const stagingProviderSchema = lazySchema(() => z.custom<StagingProvider>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    ['canStageIn', 'canStageOut', 'stageIn', 'stageOut'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function') &&
    typeof (v as { inTask?: unknown }).inTask === 'boolean',
  {
    message:
      'expected a staging provider (canStageIn, canStageOut, stageIn, stageOut and inTask), such as new HTTPSeparateTaskStaging()',
  },
));

/** Fields spread into an executor's zod object. */
export const stagingOptionsShape = lazySchema(() => ({
  /**
   * Staging providers, in order: the first whose `canStageIn` / `canStageOut` accepts a file
   * stages it. Parsl's `storage_access`.
   * @default defaultStorageAccess(): no-op for local files, FTP and HTTP(S) in separate tasks, zip
   */
  storageAccess: z.array(stagingProviderSchema).optional(),
  /**
   * Where staged copies of remote files live, and where apps write outputs that are staged out
   * (Parsl's `working_dir`). An absolute path on the workers' file system (separate-task staging
   * runs in the driver: there it must be a shared file system).
   * @default `<run directory>/staging`
   */
  workingDir: z.string().min(1).optional(),
}));

/** What the DFK reads of an executor for staging. */
export interface ExecutorStagingOptions {
  storageAccess?: readonly StagingProvider[] | undefined;
  workingDir?: string | undefined;
}

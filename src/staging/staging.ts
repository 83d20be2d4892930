/**
 * Choosing a staging provider for a file, Parsl's `DataManager` rule: an executor's
 * `storageAccess` lists providers in order; the first that can stage the file (in or out) does.
 * With no list, Parsl's default: no-op for local files, FTP and HTTP(S) in separate tasks, and
 * zip members.
 */
import { StagingError } from './errors.ts';
import type { File } from './file.ts';
import { FTPSeparateTaskStaging } from './ftp.ts';
import { HTTPSeparateTaskStaging } from './http.ts';
import { NoOpFileStaging, type StageOptions, type StagingProvider } from './provider.ts';
import { ZipFileStaging } from './zip.ts';

/**
 * A fresh default list (Parsl's default, plus zip).
 *
 * @example
 * ```ts
 * const storageAccess = [...defaultStorageAccess(), new SFTPStaging({ channels: [channel] })];
 * ```
 */
export function defaultStorageAccess(): StagingProvider[] {
  return [new NoOpFileStaging(), new FTPSeparateTaskStaging(), new HTTPSeparateTaskStaging(), new ZipFileStaging()];
}

const DEFAULT_STORAGE_ACCESS: readonly StagingProvider[] = Object.freeze(defaultStorageAccess());

/**
 * The first provider of `storageAccess` that can stage `file` in the given direction. Throws a
 * `StagingError` naming the URL and every provider asked when none can.
 *
 * @example
 * ```ts
 * const provider = chooseStagingProvider(new File('https://example.org/x.csv'), 'in');
 * console.log(provider.name);           // HTTPSeparateTaskStaging
 * ```
 */
export function chooseStagingProvider(
  file: File,
  direction: 'in' | 'out',
  storageAccess: readonly StagingProvider[] = DEFAULT_STORAGE_ACCESS,
): StagingProvider {
  for (const provider of storageAccess) {
    if (direction === 'in' ? provider.canStageIn(file) : provider.canStageOut(file)) return provider;
  }
  const tried = storageAccess.map((p) => p.name);
  throw new StagingError(
    file.url,
    direction,
    `no staging provider can stage ${file.scheme}: files ${direction}; tried ${tried.length > 0 ? tried.join(', ') : 'none (storageAccess is empty)'}`,
    { providersTried: tried },
  );
}

/**
 * Options of `stageIn` and `stageOut`: those of one stage, and the providers to choose from.
 *
 * @example
 * ```ts
 * await stageIn(file, 'work', { storageAccess: [new HTTPSeparateTaskStaging()], onProgress: (bytes) => console.log(bytes) });
 * ```
 */
export interface StageCallOptions extends StageOptions {
  /** The executor's providers. @default defaultStorageAccess() */
  storageAccess?: readonly StagingProvider[];
}

/**
 * Stages `file` in to `workDir` with the provider chosen for it; resolves with the path the app opens.
 *
 * @example
 * ```ts
 * const file = new File('https://example.org/data/x.csv');
 * const path = await stageIn(file, 'work');   // work/x.csv; file.filepath is now that path
 * ```
 */
export async function stageIn(file: File, workDir: string, options: StageCallOptions = {}): Promise<string> {
  const provider = chooseStagingProvider(file, 'in', options.storageAccess);
  return provider.stageIn(file, workDir, options);
}

/**
 * Stages `file` out from `workDir` (or its `localPath`) with the provider chosen for it.
 *
 * @example
 * ```ts
 * const out = new File('sftp://jdoe@data.example.org/results/y.csv');
 * await stageOut(out, 'work', { storageAccess: [new SFTPStaging({ channels: [channel] })] });   // sends work/y.csv
 * ```
 */
export async function stageOut(file: File, workDir: string, options: StageCallOptions = {}): Promise<void> {
  const provider = chooseStagingProvider(file, 'out', options.storageAccess);
  await provider.stageOut(file, workDir, options);
}

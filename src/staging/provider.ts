/**
 * The staging provider contract, Parsl's in camelCase: an executor's `storageAccess` lists
 * providers; the first whose `canStageIn` / `canStageOut` accepts a file stages it.
 */
import type { File } from './file.ts';

/**
 * Options of one stage-in or stage-out.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * await stageIn(file, 'work', { signal: controller.signal, onProgress: (bytes) => console.log(bytes) });
 * ```
 */
export interface StageOptions {
  /** Aborts the transfer; the partial copy is removed. @default none */
  signal?: AbortSignal;
  /** Called with the bytes received so far (HTTP, FTP). @default none */
  onProgress?: (bytes: number) => void;
}

/**
 * A staging provider (Parsl's contract, camelCase): says which files it can stage with `canStageIn`/`canStageOut`, and copies them. An executor's `storageAccess` lists providers; the first that accepts a file stages it.
 *
 * @example
 * ```ts
 * class S3Staging implements StagingProvider {
 *   readonly name = 'S3Staging';
 *   readonly inTask = false;
 *   canStageIn(file: File) { return file.scheme === 's3'; }
 *   canStageOut(file: File) { return file.scheme === 's3'; }
 *   async stageIn(file: File, workDir: string) { return download(file, workDir); }
 *   async stageOut(file: File, workDir: string) { await upload(file, workDir); }
 * }
 * ```
 */
export interface StagingProvider {
  /** For errors and logs: `HTTPSeparateTaskStaging`… */
  readonly name: string;
  /** True when staging runs inside the worker, before and after the app; false for a separate task. */
  readonly inTask: boolean;
  /** Whether this provider can copy `file` to where a task runs. */
  canStageIn(file: File): boolean;
  /** Whether this provider can deliver a task's output to `file`'s URL. */
  canStageOut(file: File): boolean;
  /**
   * Copies the file into `workDir` (made if missing) and sets `file.localPath` to the copy;
   * resolves with that path.
   */
  stageIn(file: File, workDir: string, options?: StageOptions): Promise<string>;
  /**
   * Delivers the local copy the app wrote (`file.localPath`, else `workDir/filename`) to the
   * file's URL.
   */
  stageOut(file: File, workDir: string, options?: StageOptions): Promise<void>;
}

/** Where an app writes an output before it is staged out: `file.localPath`, else `workDir/filename`. */
export function outputLocalPath(file: File, workDir: string): string {
  return file.localPath ?? `${workDir.replace(/\/+$/, '')}/${file.filename}`;
}

/**
 * Local files need no staging: the app opens the path itself. Parsl's `NoOpFileStaging`.
 *
 * @example
 * ```ts
 * chooseStagingProvider(new File('data.csv'), 'in');   // a NoOpFileStaging: nothing to copy
 * ```
 */
export class NoOpFileStaging implements StagingProvider {
  readonly name = 'NoOpFileStaging';
  readonly inTask = false;
  /** Whether this provider can copy `file` to where a task runs. */
  canStageIn(file: File): boolean {
    return file.scheme === 'file';
  }
  /** Whether this provider can deliver a task's output to `file`'s URL. */
  canStageOut(file: File): boolean {
    return file.scheme === 'file';
  }
  async stageIn(file: File): Promise<string> {
    return file.filepath;
  }
  async stageOut(): Promise<void> {}
}

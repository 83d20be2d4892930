/**
 * The staging provider contract, Parsl's in camelCase: an executor's `storageAccess` lists
 * providers; the first whose `canStageIn` / `canStageOut` accepts a file stages it.
 */
import type { File } from './file.ts';

export interface StageOptions {
  /** Aborts the transfer; the partial copy is removed. */
  signal?: AbortSignal;
  /** Called with the bytes received so far (HTTP, FTP). */
  onProgress?: (bytes: number) => void;
}

export interface StagingProvider {
  /** For errors and logs: `HTTPSeparateTaskStaging`… */
  readonly name: string;
  /** True when staging runs inside the worker, before and after the app; false for a separate task. */
  readonly inTask: boolean;
  canStageIn(file: File): boolean;
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
  canStageIn(file: File): boolean {
    return file.scheme === 'file';
  }
  canStageOut(file: File): boolean {
    return file.scheme === 'file';
  }
  async stageIn(file: File): Promise<string> {
    return file.filepath;
  }
  async stageOut(): Promise<void> {}
}

import { NoKernelError } from '../common/errors.ts';
import type { AppDefinition } from './app.ts';
import type { AppFuture } from './future.ts';

/** What an app call needs from the loaded kernel. */
export interface Submitter {
  submit(app: AppDefinition, args: unknown[]): AppFuture<unknown>;
}

let current: Submitter | undefined;

/** The kernel that `load()` started; app calls go to it. */
export function currentKernel(): Submitter {
  if (!current) throw new NoKernelError();
  return current;
}

/** @internal */
export function setCurrentKernel(kernel: Submitter | undefined): void {
  current = kernel;
}

/** @internal */
export function peekCurrentKernel(): Submitter | undefined {
  return current;
}

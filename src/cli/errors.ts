/** A command line that cannot be run: `parsl-ts` exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

import { ConfigError } from '../../common/errors.ts';
import { shellQuote } from '../../common/shell-quote.ts';

/**
 * A launcher turns the command a block runs (a worker pool, usually) into the shell text that
 * starts `tasksPerNode` copies of it on each of the block's `nodesPerBlock` nodes — with `srun`,
 * `aprun`, `mpiexec`, background processes… The provider puts that text at the end of the
 * submit script, after `workerInit`.
 *
 * The text may use two variables the provider's submit script exports: `JOBNAME` (the job's
 * name) and `PARSL_SCRIPT_DIR` (where submit scripts go; on clusters a shared filesystem), so
 * that helper files written by the launcher are visible from every node.
 *
 * @example
 * ```ts
 * const launcher: Launcher = new SrunLauncher({ overrides: '--cpu-bind=none' });
 * new SlurmProvider({ nodesPerBlock: 2, launcher });
 * ```
 */
export interface Launcher {
  /** Class name, e.g. `SrunLauncher`, for errors and logs. */
  readonly name: string;
  /** The shell text that runs `command` `tasksPerNode` times on each of `nodesPerBlock` nodes. */
  launch(command: string, tasksPerNode: number, nodesPerBlock: number): string;
}

/** Whether `value` looks like a launcher (has a `launch` method). */
export function isLauncher(value: unknown): value is Launcher {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Launcher).launch === 'function' &&
    typeof (value as Launcher).name === 'string'
  );
}

/** Checks the counts given to `launch`; a launcher is called by code, so a bad count is a bug there. */
export function checkCounts(launcher: string, tasksPerNode: number, nodesPerBlock: number): void {
  if (!Number.isInteger(tasksPerNode) || tasksPerNode < 1) {
    throw new ConfigError(`${launcher}.launch(tasksPerNode)`, `expected a positive integer; got ${String(tasksPerNode)}`);
  }
  if (!Number.isInteger(nodesPerBlock) || nodesPerBlock < 1) {
    throw new ConfigError(`${launcher}.launch(nodesPerBlock)`, `expected a positive integer; got ${String(nodesPerBlock)}`);
  }
}

/** A heredoc delimiter that no line of `text` equals. */
export function heredocDelimiter(text: string, base = 'PARSL_CMD_EOF'): string {
  const lines = new Set(text.split('\n').map((line) => line.trim()));
  let delimiter = base;
  for (let i = 1; lines.has(delimiter); i++) delimiter = `${base}_${i}`;
  return delimiter;
}

/**
 * Shell lines that write `command` verbatim (a quoted heredoc: nothing is expanded at write
 * time) into `$PARSL_CMD_FILE`, next to the submit script so that every node can read it.
 */
export function writeCommandFile(command: string): string[] {
  const eof = heredocDelimiter(command);
  return [
    'PARSL_CMD_FILE="${PARSL_SCRIPT_DIR:-$PWD}/cmd_${JOBNAME:-parsl}.$$.sh"',
    `cat << '${eof}' > "$PARSL_CMD_FILE"`,
    command,
    eof,
    'chmod u+x "$PARSL_CMD_FILE"',
  ];
}

/**
 * Shell lines that wait for every pid in `$PARSL_PIDS` and exit: with `failOnAny`, with the
 * code of the first copy that failed (0 if none did); otherwise 0 if any copy succeeded, else
 * the code of the first failure. One copy's code thus passes through unchanged.
 */
export function waitForPids(failOnAny: boolean): string[] {
  return [
    'PARSL_FIRST_FAILURE=0',
    'PARSL_ANY_OK=0',
    'for PARSL_PID in $PARSL_PIDS; do',
    '  wait "$PARSL_PID"',
    '  PARSL_RC=$?',
    '  if [ "$PARSL_RC" -eq 0 ]; then PARSL_ANY_OK=1; elif [ "$PARSL_FIRST_FAILURE" -eq 0 ]; then PARSL_FIRST_FAILURE=$PARSL_RC; fi',
    'done',
    failOnAny
      ? 'exit "$PARSL_FIRST_FAILURE"'
      : 'if [ "$PARSL_ANY_OK" -eq 1 ]; then exit 0; else exit "$PARSL_FIRST_FAILURE"; fi',
  ];
}

/** A debug line on stderr, or nothing. */
export function debugLine(debug: boolean, launcher: string, what: string): string[] {
  return debug ? [`echo ${shellQuote(`parsl-ts ${launcher}: ${what}`)} >&2`] : [];
}

/** `overrides` with one leading space, or the empty string. */
export function withSpace(text: string): string {
  return text.trim() === '' ? '' : ` ${text.trim()}`;
}

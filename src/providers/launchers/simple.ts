import { lazySchema, z } from '../../common/zod.ts';
import { parseOptions } from '../../common/validate.ts';
import { shellQuote } from '../../common/shell-quote.ts';
import { checkCounts, debugLine, waitForPids, withSpace, writeCommandFile, type Launcher } from './launcher.ts';

const debugSchema = lazySchema(() => z.boolean().default(false));

const simpleSchema = lazySchema(() => z.object({}).strict());

/**
 * Runs the command once, as is: no fan-out over tasks or nodes. For a command that manages its
 * own parallelism, or a block of one node running one task.
 *
 * @example
 * ```ts
 * new LocalProvider({ launcher: new SimpleLauncher() });   // the command once, as it is
 * ```
 */
export class SimpleLauncher implements Launcher {
  readonly name = 'SimpleLauncher';
  constructor(options: Record<string, never> = {}) {
    parseOptions(simpleSchema, options, 'SimpleLauncher');
  }
  launch(command: string, tasksPerNode: number, nodesPerBlock: number): string {
    checkCounts(this.name, tasksPerNode, nodesPerBlock);
    return command;
  }
}

const singleNodeSchema = lazySchema(() =>
  z
    .object({
      /** Print what is launched on stderr. @default false */
      debug: debugSchema,
      /**
       * Exit non-zero as soon as one copy fails; otherwise the block fails only if every copy
       * fails. @default false
       */
      failOnAny: z.boolean().default(false),
    })
    .strict(),
);

/**
 * Options of `SingleNodeLauncher`, as the user gives them.
 * @interface
 */
export type SingleNodeLauncherOptions = z.input<typeof singleNodeSchema>;

/**
 * Starts `tasksPerNode × nodesPerBlock` copies of the command as background processes on the
 * node the submit script runs on, and waits for all of them. Each copy gets its index (1…N) as
 * `$1`. The exit code is that of the first failed copy (see `failOnAny`), so a single copy's
 * code passes through.
 *
 * @example
 * ```ts
 * new GridEngineProvider({ launcher: new SingleNodeLauncher({ debug: true }) });
 * ```
 */
export class SingleNodeLauncher implements Launcher {
  readonly name = 'SingleNodeLauncher';
  /** Print what is launched on stderr. */
  readonly debug: boolean;
  /** Whether the block fails when any of its copies fails (else only when all do). */
  readonly failOnAny: boolean;
  constructor(options: SingleNodeLauncherOptions = {}) {
    const parsed = parseOptions(singleNodeSchema, options, 'SingleNodeLauncher');
    this.debug = parsed.debug;
    this.failOnAny = parsed.failOnAny;
  }
  launch(command: string, tasksPerNode: number, nodesPerBlock: number): string {
    checkCounts(this.name, tasksPerNode, nodesPerBlock);
    const copies = tasksPerNode * nodesPerBlock;
    return [
      `PARSL_WORKERCOUNT=${copies}`,
      ...debugLine(this.debug, this.name, `starting ${copies} cop${copies === 1 ? 'y' : 'ies'} on $(hostname)`),
      'parsl_launch_cmd() {',
      command,
      '}',
      'PARSL_PIDS=""',
      'for PARSL_COUNT in $(seq 1 "$PARSL_WORKERCOUNT"); do',
      '  parsl_launch_cmd "$PARSL_COUNT" &',
      '  PARSL_PIDS="$PARSL_PIDS $!"',
      'done',
      ...waitForPids(this.failOnAny),
    ].join('\n');
  }
}

const wrappedSchema = lazySchema(() =>
  z
    .object({
      /** What goes before the command, e.g. `'singularity exec image.sif'` or `'time'`. */
      prepend: z.string(),
      /** Print what is launched on stderr. @default false */
      debug: debugSchema,
    })
    .strict(),
);

/**
 * Options of `WrappedLauncher`, as the user gives them.
 * @interface
 */
export type WrappedLauncherOptions = z.input<typeof wrappedSchema>;

/**
 * Puts `prepend` before the command (a container runtime, `time`, `numactl`…) and runs it once.
 * A command of several lines is passed to `bash -c` so that the prefix applies to all of it.
 *
 * @example
 * ```ts
 * new SlurmProvider({ launcher: new WrappedLauncher({ prepend: 'singularity exec image.sif' }) });
 * ```
 */
export class WrappedLauncher implements Launcher {
  readonly name = 'WrappedLauncher';
  /** What goes before the command. */
  readonly prepend: string;
  /** Print what is launched on stderr. */
  readonly debug: boolean;
  constructor(options: WrappedLauncherOptions) {
    const parsed = parseOptions(wrappedSchema, options, 'WrappedLauncher');
    this.prepend = parsed.prepend.trim();
    this.debug = parsed.debug;
  }
  launch(command: string, tasksPerNode: number, nodesPerBlock: number): string {
    checkCounts(this.name, tasksPerNode, nodesPerBlock);
    const body = command.trim().includes('\n') ? `bash -c ${shellQuote(command)}` : command.trim();
    return [...debugLine(this.debug, this.name, `running under ${this.prepend}`), `${this.prepend}${this.prepend ? ' ' : ''}${body}`].join(
      '\n',
    );
  }
}

const gnuParallelSchema = lazySchema(() =>
  z
    .object({
      /** Print what is launched on stderr. @default false */
      debug: debugSchema,
      /** Extra arguments for `parallel`. @default '' */
      overrides: z.string().default(''),
    })
    .strict(),
);

/**
 * Options of `GnuParallelLauncher`, as the user gives them.
 * @interface
 */
export type GnuParallelLauncherOptions = z.input<typeof gnuParallelSchema>;

/**
 * Runs `tasksPerNode × nodesPerBlock` copies with GNU Parallel, `tasksPerNode` at a time on each
 * node of the allocation (from `$PBS_NODEFILE`, or Slurm's `$SLURM_JOB_NODELIST`; this node
 * alone when neither is set), reaching other nodes over ssh. Needs `parallel` on the first node.
 *
 * @example
 * ```ts
 * new PBSProProvider({ nodesPerBlock: 4, launcher: new GnuParallelLauncher() });
 * ```
 */
export class GnuParallelLauncher implements Launcher {
  readonly name = 'GnuParallelLauncher';
  /** Print what is launched on stderr. */
  readonly debug: boolean;
  /** Extra arguments for the parallel runner. */
  readonly overrides: string;
  constructor(options: GnuParallelLauncherOptions = {}) {
    const parsed = parseOptions(gnuParallelSchema, options, 'GnuParallelLauncher');
    this.debug = parsed.debug;
    this.overrides = parsed.overrides;
  }
  launch(command: string, tasksPerNode: number, nodesPerBlock: number): string {
    checkCounts(this.name, tasksPerNode, nodesPerBlock);
    const copies = tasksPerNode * nodesPerBlock;
    const extra = withSpace(this.overrides);
    return [
      ...writeCommandFile(command),
      `PARSL_WORKERCOUNT=${copies}`,
      ...debugLine(this.debug, this.name, `${copies} copies, ${tasksPerNode} per node`),
      'PARSL_PFILE="$PARSL_CMD_FILE.parallel"',
      ': > "$PARSL_PFILE"',
      'for PARSL_COUNT in $(seq 1 "$PARSL_WORKERCOUNT"); do',
      '  printf \'bash %q\\n\' "$PARSL_CMD_FILE" >> "$PARSL_PFILE"',
      'done',
      'if [ -n "${PBS_NODEFILE:-}" ]; then',
      '  PARSL_NODEFILE="$PBS_NODEFILE"',
      'elif [ -n "${SLURM_JOB_NODELIST:-}" ]; then',
      '  PARSL_NODEFILE="$PARSL_CMD_FILE.nodes"',
      '  scontrol show hostnames "$SLURM_JOB_NODELIST" > "$PARSL_NODEFILE"',
      'else',
      '  PARSL_NODEFILE=""',
      'fi',
      'if [ -n "$PARSL_NODEFILE" ]; then',
      `  parallel --env _ --joblog "$PARSL_CMD_FILE.joblog" --sshloginfile "$PARSL_NODEFILE" --jobs ${tasksPerNode}${extra} < "$PARSL_PFILE"`,
      'else',
      `  parallel --joblog "$PARSL_CMD_FILE.joblog" --jobs ${tasksPerNode}${extra} < "$PARSL_PFILE"`,
      'fi',
    ].join('\n');
  }
}

import { lazySchema, z } from '../../common/zod.ts';
import { parseOptions } from '../../common/validate.ts';
import { checkCounts, debugLine, withSpace, writeCommandFile, type Launcher } from './launcher.ts';

const baseSchema = lazySchema(() =>
  ({
    /** Print what is launched on stderr. @default false */
    debug: z.boolean().default(false),
    /** Extra arguments for the parallel runner. @default '' */
    overrides: z.string().default(''),
  }),
);

const aprunSchema = lazySchema(() => z.object(baseSchema).strict());
/**
 * Options of `AprunLauncher`, as the user gives them.
 * @interface
 */
export type AprunLauncherOptions = z.input<typeof aprunSchema>;

/**
 * Cray ALPS: `aprun -n <tasks> -N <tasksPerNode>` over the block's nodes (Cobalt and PBS on
 * Cray systems).
 *
 * @example
 * ```ts
 * new CobaltProvider({ launcher: new AprunLauncher({ overrides: '-d 64' }) });
 * ```
 */
export class AprunLauncher implements Launcher {
  readonly name = 'AprunLauncher';
  /** Print what is launched on stderr. */
  readonly debug: boolean;
  /** Extra arguments for the parallel runner. */
  readonly overrides: string;
  constructor(options: AprunLauncherOptions = {}) {
    const parsed = parseOptions(aprunSchema, options, 'AprunLauncher');
    this.debug = parsed.debug;
    this.overrides = parsed.overrides;
  }
  launch(command: string, tasksPerNode: number, nodesPerBlock: number): string {
    checkCounts(this.name, tasksPerNode, nodesPerBlock);
    const tasks = tasksPerNode * nodesPerBlock;
    return [
      ...writeCommandFile(command),
      ...debugLine(this.debug, this.name, `${tasks} tasks, ${tasksPerNode} per node`),
      `aprun -n ${tasks} -N ${tasksPerNode}${withSpace(this.overrides)} /bin/bash "$PARSL_CMD_FILE"`,
    ].join('\n');
  }
}

const jsrunSchema = lazySchema(() => z.object(baseSchema).strict());
/**
 * Options of `JsrunLauncher`, as the user gives them.
 * @interface
 */
export type JsrunLauncherOptions = z.input<typeof jsrunSchema>;

/**
 * IBM LSF CSM (Summit): `jsrun -n <tasks> -r <tasksPerNode>` — one resource set per task.
 *
 * @example
 * ```ts
 * new LSFProvider({ nodesPerBlock: 2, launcher: new JsrunLauncher() });
 * ```
 */
export class JsrunLauncher implements Launcher {
  readonly name = 'JsrunLauncher';
  /** Print what is launched on stderr. */
  readonly debug: boolean;
  /** Extra arguments for the parallel runner. */
  readonly overrides: string;
  constructor(options: JsrunLauncherOptions = {}) {
    const parsed = parseOptions(jsrunSchema, options, 'JsrunLauncher');
    this.debug = parsed.debug;
    this.overrides = parsed.overrides;
  }
  launch(command: string, tasksPerNode: number, nodesPerBlock: number): string {
    checkCounts(this.name, tasksPerNode, nodesPerBlock);
    const tasks = tasksPerNode * nodesPerBlock;
    return [
      ...writeCommandFile(command),
      ...debugLine(this.debug, this.name, `${tasks} resource sets, ${tasksPerNode} per node`),
      `jsrun -n ${tasks} -r ${tasksPerNode}${withSpace(this.overrides)} /bin/bash "$PARSL_CMD_FILE"`,
    ].join('\n');
  }
}

const mpiExecSchema = lazySchema(() =>
  z
    .object({
      ...baseSchema,
      /** Binding arguments, e.g. `'--bind-to core'` or `'--cpu-bind depth'`. @default '' */
      bindCmd: z.string().default(''),
      /** The flag that sets processes per node: `-ppn` (MPICH/Hydra, Intel MPI), `--ppn` (PALS). @default '-ppn' */
      ppnFlag: z.string().min(1).default('-ppn'),
    })
    .strict(),
);
/**
 * Options of `MpiExecLauncher`, as the user gives them.
 * @interface
 */
export type MpiExecLauncherOptions = z.input<typeof mpiExecSchema>;

/**
 * `mpiexec -n <tasks> -ppn <tasksPerNode>` (MPICH, Intel MPI, PALS), with `$PBS_NODEFILE` or
 * `$COBALT_NODEFILE` as host file when the scheduler provides one.
 *
 * @example
 * ```ts
 * new PBSProProvider({ nodesPerBlock: 2, launcher: new MpiExecLauncher({ bindCmd: '--bind-to core' }) });
 * ```
 */
export class MpiExecLauncher implements Launcher {
  readonly name = 'MpiExecLauncher';
  /** Print what is launched on stderr. */
  readonly debug: boolean;
  /** Extra arguments for the parallel runner. */
  readonly overrides: string;
  /** Binding arguments, e.g. `--bind-to core`. */
  readonly bindCmd: string;
  /** The flag that sets processes per node. */
  readonly ppnFlag: string;
  constructor(options: MpiExecLauncherOptions = {}) {
    const parsed = parseOptions(mpiExecSchema, options, 'MpiExecLauncher');
    this.debug = parsed.debug;
    this.overrides = parsed.overrides;
    this.bindCmd = parsed.bindCmd;
    this.ppnFlag = parsed.ppnFlag;
  }
  launch(command: string, tasksPerNode: number, nodesPerBlock: number): string {
    checkCounts(this.name, tasksPerNode, nodesPerBlock);
    const tasks = tasksPerNode * nodesPerBlock;
    return [
      ...writeCommandFile(command),
      'PARSL_HOSTFILE="${PBS_NODEFILE:-${COBALT_NODEFILE:-}}"',
      ...debugLine(this.debug, this.name, `${tasks} ranks, ${tasksPerNode} per node`),
      `mpiexec -n ${tasks} ${this.ppnFlag} ${tasksPerNode}` +
        '${PARSL_HOSTFILE:+ -hostfile "$PARSL_HOSTFILE"}' +
        `${withSpace(this.bindCmd)}${withSpace(this.overrides)} /bin/bash "$PARSL_CMD_FILE"`,
    ].join('\n');
  }
}

const mpiRunSchema = lazySchema(() =>
  z
    .object({
      ...baseSchema,
      /** The shell that runs the command file on each rank. @default '/bin/bash' */
      bashLocation: z.string().min(1).default('/bin/bash'),
    })
    .strict(),
);
/**
 * Options of `MpiRunLauncher`, as the user gives them.
 * @interface
 */
export type MpiRunLauncherOptions = z.input<typeof mpiRunSchema>;

/**
 * Open MPI: `mpirun -np <tasks> --npernode <tasksPerNode>`.
 *
 * @example
 * ```ts
 * new TorqueProvider({ nodesPerBlock: 2, launcher: new MpiRunLauncher() });
 * ```
 */
export class MpiRunLauncher implements Launcher {
  readonly name = 'MpiRunLauncher';
  /** Print what is launched on stderr. */
  readonly debug: boolean;
  /** Extra arguments for the parallel runner. */
  readonly overrides: string;
  /** The shell that runs the command file on each rank. */
  readonly bashLocation: string;
  constructor(options: MpiRunLauncherOptions = {}) {
    const parsed = parseOptions(mpiRunSchema, options, 'MpiRunLauncher');
    this.debug = parsed.debug;
    this.overrides = parsed.overrides;
    this.bashLocation = parsed.bashLocation;
  }
  launch(command: string, tasksPerNode: number, nodesPerBlock: number): string {
    checkCounts(this.name, tasksPerNode, nodesPerBlock);
    const tasks = tasksPerNode * nodesPerBlock;
    return [
      ...writeCommandFile(command),
      ...debugLine(this.debug, this.name, `${tasks} ranks, ${tasksPerNode} per node`),
      `mpirun -np ${tasks} --npernode ${tasksPerNode}${withSpace(this.overrides)} ${this.bashLocation} "$PARSL_CMD_FILE"`,
    ].join('\n');
  }
}

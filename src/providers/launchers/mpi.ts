import { lazySchema, z } from '../../common/zod.ts';
import { parseOptions } from '../../common/validate.ts';
import { withSpace } from './launcher.ts';
import { RunnerLauncher, type LaunchPlan } from './runner-launcher.ts';

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
export class AprunLauncher extends RunnerLauncher {
  constructor(options: AprunLauncherOptions = {}) {
    const parsed = parseOptions(aprunSchema, options, 'AprunLauncher');
    super('AprunLauncher', parsed);
  }
  protected plan(tasks: number, tasksPerNode: number): LaunchPlan {
    return {
      what: `${tasks} tasks, ${tasksPerNode} per node`,
      run: [`aprun -n ${tasks} -N ${tasksPerNode}${withSpace(this.overrides)} /bin/bash "$PARSL_CMD_FILE"`],
    };
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
export class JsrunLauncher extends RunnerLauncher {
  constructor(options: JsrunLauncherOptions = {}) {
    const parsed = parseOptions(jsrunSchema, options, 'JsrunLauncher');
    super('JsrunLauncher', parsed);
  }
  protected plan(tasks: number, tasksPerNode: number): LaunchPlan {
    return {
      what: `${tasks} resource sets, ${tasksPerNode} per node`,
      run: [`jsrun -n ${tasks} -r ${tasksPerNode}${withSpace(this.overrides)} /bin/bash "$PARSL_CMD_FILE"`],
    };
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
export class MpiExecLauncher extends RunnerLauncher {
  /** Binding arguments, e.g. `--bind-to core`. */
  readonly bindCmd: string;
  /** The flag that sets processes per node. */
  readonly ppnFlag: string;
  constructor(options: MpiExecLauncherOptions = {}) {
    const parsed = parseOptions(mpiExecSchema, options, 'MpiExecLauncher');
    super('MpiExecLauncher', parsed);
    this.bindCmd = parsed.bindCmd;
    this.ppnFlag = parsed.ppnFlag;
  }
  protected plan(tasks: number, tasksPerNode: number): LaunchPlan {
    return {
      setup: ['PARSL_HOSTFILE="${PBS_NODEFILE:-${COBALT_NODEFILE:-}}"'],
      what: `${tasks} ranks, ${tasksPerNode} per node`,
      run: [
        `mpiexec -n ${tasks} ${this.ppnFlag} ${tasksPerNode}` +
          '${PARSL_HOSTFILE:+ -hostfile "$PARSL_HOSTFILE"}' +
          `${withSpace(this.bindCmd)}${withSpace(this.overrides)} /bin/bash "$PARSL_CMD_FILE"`,
      ],
    };
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
export class MpiRunLauncher extends RunnerLauncher {
  /** The shell that runs the command file on each rank. */
  readonly bashLocation: string;
  constructor(options: MpiRunLauncherOptions = {}) {
    const parsed = parseOptions(mpiRunSchema, options, 'MpiRunLauncher');
    super('MpiRunLauncher', parsed);
    this.bashLocation = parsed.bashLocation;
  }
  protected plan(tasks: number, tasksPerNode: number): LaunchPlan {
    return {
      what: `${tasks} ranks, ${tasksPerNode} per node`,
      run: [`mpirun -np ${tasks} --npernode ${tasksPerNode}${withSpace(this.overrides)} ${this.bashLocation} "$PARSL_CMD_FILE"`],
    };
  }
}

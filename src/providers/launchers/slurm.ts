import { lazySchema, z } from '../../common/zod.ts';
import { parseOptions } from '../../common/validate.ts';
import { waitForPids, withSpace } from './launcher.ts';
import { RunnerLauncher, type LaunchPlan } from './runner-launcher.ts';

const srunSchema = lazySchema(() =>
  z
    .object({
      /** Print what is launched on stderr. @default false */
      debug: z.boolean().default(false),
      /** Extra arguments for `srun`, e.g. `'--cpu-bind=none'`. @default '' */
      overrides: z.string().default(''),
    })
    .strict(),
);

/**
 * Options of `SrunLauncher`, as the user gives them.
 * @interface
 */
export type SrunLauncherOptions = z.input<typeof srunSchema>;

/**
 * Runs `tasksPerNode × nodesPerBlock` copies with one `srun` inside the Slurm allocation,
 * `tasksPerNode` per node. Output lines are labelled with the task rank (`-l`).
 *
 * @example
 * ```ts
 * new SlurmProvider({ nodesPerBlock: 2, launcher: new SrunLauncher({ overrides: '--cpu-bind=none' }) });
 * ```
 */
export class SrunLauncher extends RunnerLauncher {
  constructor(options: SrunLauncherOptions = {}) {
    super('SrunLauncher', parseOptions(srunSchema, options, 'SrunLauncher'));
  }
  protected plan(tasks: number, tasksPerNode: number, nodesPerBlock: number): LaunchPlan {
    return {
      what: `${tasks} tasks on ${nodesPerBlock} node(s)`,
      run: [`srun --ntasks=${tasks} --ntasks-per-node=${tasksPerNode} -l${withSpace(this.overrides)} bash "$PARSL_CMD_FILE"`],
    };
  }
}

export type SrunMPILauncherOptions = SrunLauncherOptions;

/**
 * For commands that start MPI applications themselves: runs `tasksPerNode × nodesPerBlock`
 * copies ("task blocks"), each through its own `srun --exclusive` over a share of the allocation.
 * With at least as many nodes as task blocks, each copy gets `nodes / blocks` whole nodes;
 * otherwise the copies split the allocation's cores (`nodes × cores / blocks` tasks each).
 *
 * @example
 * ```ts
 * new SlurmProvider({ nodesPerBlock: 4, launcher: new SrunMPILauncher() });
 * ```
 */
export class SrunMPILauncher extends RunnerLauncher {
  constructor(options: SrunMPILauncherOptions = {}) {
    super('SrunMPILauncher', parseOptions(srunSchema, options, 'SrunMPILauncher'));
  }
  protected plan(blocks: number, _tasksPerNode: number, nodesPerBlock: number): LaunchPlan {
    const extra = withSpace(this.overrides);
    return {
      setup: [`PARSL_TASK_BLOCKS=${blocks}`, `PARSL_NODES=\${SLURM_JOB_NUM_NODES:-${nodesPerBlock}}`, 'PARSL_CORES=${SLURM_CPUS_ON_NODE:-1}'],
      what: `${blocks} task blocks over $PARSL_NODES node(s) of $PARSL_CORES core(s)`,
      run: [
        'PARSL_PIDS=""',
        'if [ "$PARSL_TASK_BLOCKS" -gt "$PARSL_NODES" ]; then',
        '  PARSL_TASKS_PER_BLOCK=$(( PARSL_NODES * PARSL_CORES / PARSL_TASK_BLOCKS ))',
        '  [ "$PARSL_TASKS_PER_BLOCK" -ge 1 ] || PARSL_TASKS_PER_BLOCK=1',
        '  for PARSL_COUNT in $(seq 1 "$PARSL_TASK_BLOCKS"); do',
        `    srun --exclusive --ntasks="$PARSL_TASKS_PER_BLOCK" -l${extra} bash "$PARSL_CMD_FILE" &`,
        '    PARSL_PIDS="$PARSL_PIDS $!"',
        '  done',
        'else',
        '  PARSL_NODES_PER_BLOCK=$(( PARSL_NODES / PARSL_TASK_BLOCKS ))',
        '  for PARSL_COUNT in $(seq 1 "$PARSL_TASK_BLOCKS"); do',
        `    srun --exclusive --nodes="$PARSL_NODES_PER_BLOCK" -l${extra} bash "$PARSL_CMD_FILE" &`,
        '    PARSL_PIDS="$PARSL_PIDS $!"',
        '  done',
        'fi',
        ...waitForPids(false),
      ],
    };
  }
}

import { checkCounts, debugLine, writeCommandFile, type Launcher } from './launcher.ts';

/** How a launcher's runner starts the copies: the lines of the launch script after the command file. */
export interface LaunchPlan {
  /** Shell lines before the debug line (variables the run lines use). */
  setup?: string[];
  /** What the debug line says is launched, e.g. `8 ranks, 4 per node`. */
  what: string;
  /** The lines that start the copies and wait for them. */
  run: string[];
}

/**
 * What the launchers that start their copies through a parallel runner (srun, aprun, jsrun,
 * mpiexec, mpirun) share: the `debug` and `overrides` options, the check of the counts, the
 * command written to a file and the debug line. Each says only how its runner is called.
 */
export abstract class RunnerLauncher implements Launcher {
  /** The launcher's name, as Parsl names it (in its errors and debug lines). */
  readonly name: string;
  /** Print what is launched on stderr. */
  readonly debug: boolean;
  /** Extra arguments for the parallel runner. */
  readonly overrides: string;

  protected constructor(name: string, options: { debug: boolean; overrides: string }) {
    this.name = name;
    this.debug = options.debug;
    this.overrides = options.overrides;
  }

  launch(command: string, tasksPerNode: number, nodesPerBlock: number): string {
    checkCounts(this.name, tasksPerNode, nodesPerBlock);
    const plan = this.plan(tasksPerNode * nodesPerBlock, tasksPerNode, nodesPerBlock);
    return [...writeCommandFile(command), ...(plan.setup ?? []), ...debugLine(this.debug, this.name, plan.what), ...plan.run].join('\n');
  }

  /** The runner's lines for `tasks` copies, `tasksPerNode` on each of `nodesPerBlock` nodes. */
  protected abstract plan(tasks: number, tasksPerNode: number, nodesPerBlock: number): LaunchPlan;
}

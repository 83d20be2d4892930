/**
 * Where a kernel's run lives, and what resuming changes (Deliver 4 of the campaigns issue).
 *
 * A resumed run goes on in the run directory it resumes rather than in a new one: that is where
 * its checkpoint is (so finished calls end `memo_done`), where the HTEX executor's JetStream store
 * holds the results that blocks reported while no driver listened, and where the port and
 * credential those blocks reconnect with are kept (actors/htex/adopt.ts). A new directory that
 * only read the old checkpoint could do the first and none of the rest. Parsl users find their
 * checkpoint where they left it, and `task_ids` keeps the drivers' task ids apart.
 */
import { Config, configOptionsOf } from '../config/config.ts';
import { environmentResume } from '../config/from-environment.ts';
import { ConfigError } from '../common/errors.ts';
import { makeRunDir, resumeRunDir, type RunDir } from '../dataflow/run-dir.ts';

/**
 * The run directory of a new kernel: the next numbered one, or (with `Config.resume`, or
 * `parsl-ts run --resume`) the one it resumes; and the config to run with: with resume,
 * `checkpointMode` defaults to `'task_exit'` so that every result the script sees is kept.
 */
export function openRun(config: Config): { config: Config; run: RunDir } {
  const resume = config.resume ?? environmentResume();
  if (resume === undefined) return { config, run: makeRunDir(config.runDir) };
  let run: RunDir;
  try {
    run = resumeRunDir(resume, config.runDir);
  } catch (error) {
    throw new ConfigError(config.resume === undefined ? 'parsl-ts run --resume' : 'Config.resume', (error as Error).message.replace(/^resume: /, ''));
  }
  if (config.resume === resume && config.checkpointMode !== undefined) return { config, run };
  return { config: new Config({ ...configOptionsOf(config), resume, checkpointMode: config.checkpointMode ?? 'task_exit' }), run };
}

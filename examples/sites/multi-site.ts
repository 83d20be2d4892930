/**
 * The Parsl talk's "Multi-site execution" config: one script, tasks on Theta (Cobalt, aprun)
 * and Cori (Slurm, srun) at once, each app choosing its site by label:
 *
 *   const platformTheta = app(() => os.hostname(), { executors: ['theta'] });
 *   const platformCori = app(() => os.hostname(), { executors: ['cori'] });
 *   const double = app((x: number) => x * 2);           // either site
 *
 * It is the executors of ./theta.ts and ./cori.ts side by side, so it needs the environment
 * both describe (THETA_NATS_SERVERS, THETA_PROJECT, CORI_NATS_SERVERS…; the two NATS variables
 * may name the same server if both sites' compute nodes reach it), and what their headers list.
 * Add Midway with `midwayExecutor()` from ./midway.ts, or a local pool with
 * `new ThreadPoolExecutor({ label: 'local' })`: labels only have to differ.
 *
 * Run a script with it:
 *   parsl-ts run --config examples/sites/multi-site.ts my-script.ts
 * Constructing the config contacts nothing; both logins (each may ask for a one-time password)
 * happen when the script calls load().
 */
import { Config } from '../../src/index.ts';
import { coriExecutor, type CoriOptions } from './cori.ts';
import type { SiteEnv } from './site-env.ts';
import { thetaExecutor, type ThetaOptions } from './theta.ts';

export interface MultiSiteOptions {
  /** Where THETA_* and CORI_* variables are read. @default process.env */
  env?: SiteEnv;
  theta?: ThetaOptions;
  cori?: CoriOptions;
}

export default function multiSite(options: MultiSiteOptions = {}): Config {
  const env = options.env ?? process.env;
  return new Config({
    executors: [thetaExecutor({ env, ...options.theta }), coriExecutor({ env, ...options.cori })],
  });
}

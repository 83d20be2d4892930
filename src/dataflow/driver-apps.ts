/**
 * Apps the runtime itself submits and runs in the driver, on Parsl's internal executor: the
 * stage-in and stage-out tasks (staging-plan.ts) and the `nats://` relay (staging-relay.ts).
 * The kernel submits them without planning staging for their own files and without checking
 * their executor against the Config (Parsl's `_parsl_staging_inhibit`).
 */
import { AppDefinition, type ResolvedAppOptions } from '../apps/app.ts';
import { MAIN_THREAD_EXECUTOR_LABEL } from '../executors/executor.ts';

const driverApps = new WeakSet<AppDefinition>();

/** True for an app made by `driverApp`. */
export function isDriverApp(app: AppDefinition): boolean {
  return driverApps.has(app);
}

/**
 * An uncached app named `name` that runs `fn` on the internal executor. `module` (the caller's
 * `import.meta.url`) names it only: tasks on the internal executor call the function itself, so
 * the definition needs no look at its source.
 */
export function driverApp(name: string, module: string, fn: Function): AppDefinition {
  const options: ResolvedAppOptions = {
    executors: [MAIN_THREAD_EXECUTOR_LABEL],
    cache: false,
    ignoreForCache: [],
    cacheFileContent: false,
    cacheKeyBy: 'name',
    name,
    module,
    exportName: name,
  };
  const app = new AppDefinition('python', fn, options);
  driverApps.add(app);
  return app;
}

import type { Config } from '../config/config.ts';

/**
 * Whether calls of an app are memoized in this run: its own `cache` option when it set one, else
 * the run's default (a resumed run caches every app that does not opt out, `Config.resume`), and
 * never when `Config.appCache` is off. One rule for the DFK, which looks results up, and for
 * monitoring, which records it as Parsl's `task_memoize`.
 */
export function appIsCached(cache: boolean | undefined, config: Pick<Config, 'appCache' | 'resume'>): boolean {
  return config.appCache && (cache ?? config.resume !== undefined);
}

import { lazySchema, z } from '../common/zod.ts';
import { parseOptions } from '../common/validate.ts';
import type { Channel } from './channels/channel.ts';
import { BackgroundProcessProvider } from './background.ts';
import { SingleNodeLauncher } from './launchers/simple.ts';
import { commonOptionsShape, resolveCommonOptions, type ResolvedProviderOptions } from './provider.ts';

const localSchema = lazySchema(() => z.object({ ...commonOptionsShape({ label: 'local' }) }).strict());

/**
 * LocalProvider options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: LocalProviderOptions = { initBlocks: 1, maxBlocks: 2 };
 * new LocalProvider(options);
 * ```
 */
export type LocalProviderOptions = z.input<typeof localSchema>;

export type ResolvedLocalProviderOptions = ResolvedProviderOptions;

/** Validates LocalProvider options and fills defaults. Throws `ConfigError`. */
export function resolveLocalProviderOptions(options: LocalProviderOptions = {}): ResolvedLocalProviderOptions {
  const parsed = parseOptions(localSchema, options, 'LocalProvider');
  // No walltime unless one is given: a local block runs until it ends or is cancelled.
  return resolveCommonOptions('LocalProvider', parsed, { launcher: () => new SingleNodeLauncher(), walltimeMs: undefined });
}

/**
 * Blocks as background processes on the channel's host (this machine by default): each block
 * is a detached session started with `setsid`/`nohup`; its job id is the pid. Status comes from
 * `kill -0` and an exit-code file the wrapper writes; cancel kills the process group.
 *
 * @example
 * ```ts
 * new LocalProvider({ initBlocks: 1, maxBlocks: 2, workerInit: 'source venv/bin/activate' })
 * ```
 */
export class LocalProvider extends BackgroundProcessProvider<ResolvedLocalProviderOptions> {
  protected readonly kind = 'LocalProvider';

  constructor(options: LocalProviderOptions = {}) {
    super(resolveLocalProviderOptions(options));
  }

  protected pickHost(): { host: string; channel: Channel } {
    return { host: '', channel: this.channel };
  }

  protected jobIdFor(_host: string, pid: number): string {
    return String(pid);
  }
}

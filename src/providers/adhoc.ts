import { lazySchema, z } from '../common/zod.ts';
import { ConfigError } from '../common/errors.ts';
import { parseOptions } from '../common/validate.ts';
import type { Channel } from './channels/channel.ts';
import { BackgroundProcessProvider } from './background.ts';
import { SubmitError } from './errors.ts';
import { SimpleLauncher } from './launchers/simple.ts';
import { channelSchema, commonOptionsShape, resolveCommonOptions, TERMINAL_JOB_STATES, type ResolvedProviderOptions } from './provider.ts';

/**
 * One machine of an AdHocProvider.
 *
 * @example
 * ```ts
 * const host: AdHocHost = { name: 'node1', channel: new SSHChannel({ hostname: 'node1.lab.example.org' }) };
 * new AdHocProvider({ hosts: [host] });
 * ```
 */
export interface AdHocHost {
  /** Name of the host in job ids (`<name>:<pid>`), unique within the provider. */
  name: string;
  /** How the host is reached: an `SSHChannel`, or a `LocalChannel` for this machine. */
  channel: Channel;
}

const adhocSchema = lazySchema(() =>
  z
    .object({
      ...commonOptionsShape({ label: 'adhoc' }),
      /** The machines, each reached through its own channel. One block per host at a time. */
      hosts: z
        .array(
          z
            .object({
              /** The host's name, in job ids and logs. */
              name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected a host name of letters, digits, dots, dashes and underscores'),
              /** How the host is reached. */
              channel: channelSchema,
            })
            .strict(),
        )
        .min(1, 'expected at least one host'),
      /** Not used: `hosts` gives one channel per host. @default none */
      channel: z.undefined({ message: 'AdHocProvider takes one channel per host in hosts[].channel, not a channel option' }).optional(),
      /** Most blocks at once. @default hosts.length */
      maxBlocks: z.number().int().min(0).optional(),
    })
    .strict(),
);

/**
 * AdHocProvider options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: AdHocProviderOptions = { hosts: [{ name: 'node1', channel: new SSHChannel({ hostname: 'node1.lab.org' }) }] };
 * new AdHocProvider(options);
 * ```
 */
export type AdHocProviderOptions = z.input<typeof adhocSchema>;

export interface ResolvedAdHocProviderOptions extends ResolvedProviderOptions {
  hosts: AdHocHost[];
}

/** Validates AdHocProvider options and fills defaults. Throws `ConfigError`. */
export function resolveAdHocProviderOptions(options: AdHocProviderOptions): ResolvedAdHocProviderOptions {
  const parsed = parseOptions(adhocSchema, options, 'AdHocProvider');
  const seen = new Set<string>();
  parsed.hosts.forEach((host, i) => {
    if (seen.has(host.name)) throw new ConfigError(`AdHocProvider.hosts[${i}].name`, `'${host.name}' names two hosts; host names must be unique`);
    seen.add(host.name);
  });
  const maxBlocks = parsed.maxBlocks ?? parsed.hosts.length;
  if (maxBlocks > parsed.hosts.length) {
    throw new ConfigError(
      'AdHocProvider.maxBlocks',
      `maxBlocks (${maxBlocks}) is greater than the number of hosts (${parsed.hosts.length}); each host runs one block at a time`,
    );
  }
  const common = resolveCommonOptions(
    'AdHocProvider',
    { ...parsed, maxBlocks, channel: parsed.hosts[0]!.channel },
    { launcher: () => new SimpleLauncher(), walltimeMs: undefined },
  );
  return { ...common, hosts: parsed.hosts };
}

/**
 * Blocks on a fixed list of machines without a scheduler: each block runs in the background on
 * the next host that has none running (reached through that host's channel); the job id is
 * `<host>:<pid>`. Status by `kill -0` and an exit-code file; cancel kills the process group.
 *
 * @example
 * ```ts
 * new AdHocProvider({ hosts: [
 *   { name: 'node1', channel: new SSHChannel({ host: 'node1' }) },
 *   { name: 'node2', channel: new SSHChannel({ host: 'node2' }) },
 * ] })
 * ```
 */
export class AdHocProvider extends BackgroundProcessProvider<ResolvedAdHocProviderOptions> {
  protected readonly kind = 'AdHocProvider';
  #next = 0;

  constructor(options: AdHocProviderOptions) {
    super(resolveAdHocProviderOptions(options));
  }

  /** The next host in turn that has no block running. */
  protected pickHost(jobName: string): { host: string; channel: Channel } {
    const hosts = this.options.hosts;
    const busy = new Set<string>();
    for (const record of this.jobs.values()) if (!TERMINAL_JOB_STATES.has(record.state)) busy.add(record.host);
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[(this.#next + i) % hosts.length]!;
      if (!busy.has(host.name)) {
        this.#next = (this.#next + i + 1) % hosts.length;
        return { host: host.name, channel: host.channel };
      }
    }
    throw new SubmitError(
      jobName,
      `all ${hosts.length} host(s) run a block already (${[...busy].join(', ')}); an AdHocProvider runs one block per host`,
    );
  }

  protected jobIdFor(host: string, pid: number): string {
    return `${host}:${pid}`;
  }
}

/**
 * The command line that a provider runs to start a block manager (`parsl-ts block …`).
 */
import { fileURLToPath } from 'node:url';
import { NATS_ENV } from '../../nats/connection.ts';
import { entryUrl, FROM_SOURCES } from '../../common/package-files.ts';
import { shellQuote } from '../../common/shell-quote.ts';
import type { ResolvedHighThroughputExecutorOptions } from '../../executors/htex.ts';

/** This installation's block manager entry: built `.js`, or the `.ts` source through tsx. */
function localBlockCommand(): string {
  const entry = fileURLToPath(entryUrl('cli/block'));
  const loader = FROM_SOURCES ? ` --import ${JSON.stringify(import.meta.resolve('tsx'))}` : '';
  return `${JSON.stringify(process.execPath)}${loader} ${JSON.stringify(entry)}`;
}

/**
 * The command line that starts a block manager: `launchCmd` or this installation, wrapped in
 * the container runtime if one is configured. The credential travels in the environment
 * (${NATS_ENV}), which apptainer passes through and docker/podman are told to pass with `-e`.
 */
export function blockCommand(options: Pick<ResolvedHighThroughputExecutorOptions, 'launchCmd' | 'container'>, args: string[]): string {
  const { container } = options;
  const base = options.launchCmd ?? (container ? 'parsl-ts block' : localBlockCommand());
  const command = `${base} ${args.join(' ')}`;
  if (!container) return command;
  const extra = container.options.map((o) => shellQuote(o)).join(' ');
  const image = shellQuote(container.image);
  switch (container.runtime) {
    case 'apptainer':
    case 'singularity':
      return `${container.runtime} exec ${extra ? `${extra} ` : ''}${image} ${command}`;
    case 'docker':
    case 'podman':
      // Host networking: the block reaches the NATS server as the node does.
      return `${container.runtime} run --rm --network host -e ${NATS_ENV} ${extra ? `${extra} ` : ''}${image} ${command}`;
  }
}

/** The block manager's arguments for one block of an executor. */
export function blockArguments(runId: string, blockId: string, options: ResolvedHighThroughputExecutorOptions): string[] {
  const args = [
    `--run ${runId}`,
    `--label ${JSON.stringify(options.label)}`,
    `--block-id ${blockId}`,
    `--cores-per-worker ${options.coresPerWorker}`,
    `--tasks-per-worker ${options.tasksPerWorker}`,
    `--prefetch ${options.prefetchCapacity}`,
    `--heartbeat-period ${options.heartbeatPeriod}`,
    `--heartbeat-threshold ${options.heartbeatThreshold}`,
  ];
  if (options.maxWorkersPerNode !== undefined) args.push(`--max-workers ${options.maxWorkersPerNode}`);
  return args;
}

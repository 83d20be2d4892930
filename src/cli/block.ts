/**
 * `parsl-ts block …`: the command line of a block manager, as a provider's launcher runs it.
 * Connection options (servers and the run's credential) come from the environment variable
 * PARSL_TS_NATS, never from the command line, where any user of the node could read them.
 */
import { parseArgs } from 'node:util';
import { natsConnectionSchema, NATS_ENV } from '../nats/connection.ts';
import { parseOptions } from '../common/validate.ts';
import { runBlockManager } from '../actors/block-manager.ts';

export const BLOCK_USAGE = `Usage: parsl-ts block --run ID --label LABEL --block-id ID [options]

Runs a block manager: connects to NATS, registers with the DFK, and runs tasks on worker
threads until drained. Started by a provider; not usually run by hand.

Options:
  --run ID                   run id of the DataFlowKernel
  --label LABEL              label of the HighThroughputExecutor
  --block-id ID              id of this block
  --max-workers N            workers on this node (default: cores / cores-per-worker)
  --cores-per-worker N       cores each worker needs (default 1)
  --tasks-per-worker N       tasks each worker thread runs at once, each counted as a worker (default 1)
  --prefetch N               task batches held beyond one per worker (default 0)
  --heartbeat-period MS      heartbeat interval (default 30000)
  --heartbeat-threshold MS   exit when the DFK is silent this long (default 120000)

Environment:
  ${NATS_ENV}               JSON: { "servers": [...], "user": …, "password": … } (or token, nkeySeed, credsFile, tls)
`;

/** Parses the block command line and runs the block manager; resolves with the exit code. */
export async function blockMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      run: { type: 'string' },
      label: { type: 'string' },
      'block-id': { type: 'string' },
      'max-workers': { type: 'string' },
      'cores-per-worker': { type: 'string', default: '1' },
      'tasks-per-worker': { type: 'string', default: '1' },
      prefetch: { type: 'string', default: '0' },
      'heartbeat-period': { type: 'string', default: '30000' },
      'heartbeat-threshold': { type: 'string', default: '120000' },
      'report-version': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(BLOCK_USAGE);
    return 0;
  }
  for (const required of ['run', 'label', 'block-id'] as const) {
    if (!values[required]) {
      process.stderr.write(`parsl-ts block: --${required} is required\n\n${BLOCK_USAGE}`);
      return 2;
    }
  }
  const raw = process.env[NATS_ENV];
  if (!raw) {
    process.stderr.write(`parsl-ts block: the environment variable ${NATS_ENV} (NATS servers and credential) is not set\n`);
    return 2;
  }
  let nats;
  try {
    nats = parseOptions(natsConnectionSchema, JSON.parse(raw), NATS_ENV);
  } catch (error) {
    process.stderr.write(`parsl-ts block: ${(error as Error).message}\n`);
    return 2;
  }
  const number = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} expects a number, got '${value}'`);
    return n;
  };
  return runBlockManager({
    runId: values.run!,
    label: values.label!,
    blockId: values['block-id']!,
    nats,
    maxWorkers: number('max-workers', values['max-workers']),
    coresPerWorker: number('cores-per-worker', values['cores-per-worker']) ?? 1,
    tasksPerWorker: Math.max(1, Math.floor(number('tasks-per-worker', values['tasks-per-worker']) ?? 1)),
    prefetchCapacity: number('prefetch', values.prefetch) ?? 0,
    heartbeatPeriodMs: number('heartbeat-period', values['heartbeat-period']) ?? 30_000,
    heartbeatThresholdMs: number('heartbeat-threshold', values['heartbeat-threshold']) ?? 120_000,
    packageVersion: values['report-version'],
  });
}

// Run directly: `node --import tsx src/cli/block.ts …` or its built .js.
if (import.meta.url === `file://${process.argv[1]}`) {
  blockMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`parsl-ts block: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}

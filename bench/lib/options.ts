import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

/** The subjects a run can measure. */
export const SUBJECT_IDS = ['parsl', 'raw', 'piscina'] as const;
export type SubjectId = (typeof SUBJECT_IDS)[number];

/** Options of one benchmark run, every default filled in. */
export interface BenchOptions {
  /** No-op tasks per throughput run. @default 100000 */
  tasks: number;
  /** Links of the dependent chain. @default 2000 */
  chain: number;
  /** Worker threads of every subject. @default os.availableParallelism() */
  threads: number;
  /** Timed runs of each measurement. @default 3 */
  repeat: number;
  /** No-op tasks of the untimed warm-up of each subject. @default 20000 */
  warmup: number;
  /** Finished tasks per heap measurement. @default 20000 */
  memTasks: number;
  /** Raw baseline: messages in flight per worker. @default 64 */
  window: number;
  /** Raw baseline, batched row: tasks per message. @default 256 */
  batch: number;
  /** Subjects to measure. @default all */
  only: SubjectId[];
  /** Force a full GC before each timed run. @default false */
  gcBetween: boolean;
  /** Also write every sample to this JSON file. */
  json: string | undefined;
  help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]
       node --import tsx bench/threads.ts [options]

  --tasks N       no-op tasks per throughput run            (BENCH_TASKS, default 100000)
  --chain N       links of the dependent chain              (BENCH_CHAIN, default 2000)
  --threads N     worker threads of every subject           (BENCH_THREADS, default os.availableParallelism())
  --repeat N      timed runs of each measurement            (BENCH_REPEAT, default 3)
  --warmup N      no-op tasks of each subject's warm-up     (BENCH_WARMUP, default 20000)
  --mem-tasks N   finished tasks per heap measurement       (BENCH_MEM_TASKS, default 20000; 0 skips)
  --window N      raw baseline: messages in flight/worker   (BENCH_WINDOW, default 64)
  --batch N       raw baseline: tasks per batched message   (BENCH_BATCH, default 256)
  --only LIST     comma-separated subset of parsl,raw,piscina (BENCH_ONLY, default all)
  --gc-between    force a full GC before each timed run     (BENCH_GC_BETWEEN=1, default off)
  --json FILE     also write every sample to FILE
  -h, --help      this text
`;

/** Thrown for a flag or variable that makes no sense; the entry prints it with the usage. */
export class BenchOptionError extends Error {
  override name = 'BenchOptionError';
}

/** An integer flag or variable (`_` allowed as a separator: 50_000); `fallback` when absent. */
export function positiveInt(name: string, raw: string | undefined, fallback: number, allowZero = false): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new BenchOptionError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got '${raw}'`);
  }
  return value;
}

/** A comma-separated subset of `ids` (in the order of `ids`); all of them when absent. */
export function subjectList<Id extends string>(raw: string | undefined, ids: readonly Id[]): Id[] {
  if (raw === undefined || raw === '') return [...ids];
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(ids as readonly string[]).includes(name)) {
      throw new BenchOptionError(`--only takes a comma-separated list of ${ids.join(', ')}; got '${name}'`);
    }
  }
  return ids.filter((id) => names.includes(id));
}

/** Reads flags, then `BENCH_*` variables, then defaults. A flag wins over its variable. */
export function parseBenchOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      tasks: { type: 'string' },
      chain: { type: 'string' },
      threads: { type: 'string' },
      repeat: { type: 'string' },
      warmup: { type: 'string' },
      'mem-tasks': { type: 'string' },
      window: { type: 'string' },
      batch: { type: 'string' },
      only: { type: 'string' },
      'gc-between': { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const only = subjectList(values.only ?? env.BENCH_ONLY, SUBJECT_IDS);
  return {
    tasks: positiveInt('--tasks', values.tasks ?? env.BENCH_TASKS, 100_000),
    chain: positiveInt('--chain', values.chain ?? env.BENCH_CHAIN, 2_000),
    threads: positiveInt('--threads', values.threads ?? env.BENCH_THREADS, availableParallelism()),
    repeat: positiveInt('--repeat', values.repeat ?? env.BENCH_REPEAT, 3),
    warmup: positiveInt('--warmup', values.warmup ?? env.BENCH_WARMUP, 20_000, true),
    memTasks: positiveInt('--mem-tasks', values['mem-tasks'] ?? env.BENCH_MEM_TASKS, 20_000, true),
    window: positiveInt('--window', values.window ?? env.BENCH_WINDOW, 64),
    batch: positiveInt('--batch', values.batch ?? env.BENCH_BATCH, 256),
    only,
    gcBetween: values['gc-between'] ?? ['1', 'true', 'yes'].includes((env.BENCH_GC_BETWEEN ?? '').toLowerCase()),
    json: values.json,
    help: values.help ?? false,
  };
}

// ---- bench/htex.ts ----------------------------------------------------------------------

/** The subjects of the HTEX benchmark. */
export const HTEX_SUBJECT_IDS = ['htex', 'nats', 'jetstream'] as const;
export type HtexSubjectId = (typeof HTEX_SUBJECT_IDS)[number];

/** Options of one HTEX benchmark run, every default filled in. */
export interface HtexBenchOptions {
  /** No-op tasks per HTEX throughput run. @default 50000 */
  tasks: number;
  /** Links of the dependent chain (HTEX), and sequential round trips of the baselines. @default 1000 */
  chain: number;
  /** Workers per block, one DFK start each; the first is the configuration the targets judge. @default [1, 2] */
  workers: number[];
  /** Blocks of the HTEX (LocalProvider). @default 2 */
  blocks: number;
  /** Timed runs of each measurement. @default 3 */
  repeat: number;
  /** No-op tasks of each HTEX start's untimed warm-up. @default 20000 */
  warmup: number;
  /** Raw baselines: requests in flight in the throughput runs. @default 128 */
  window: number;
  /** Raw baselines: requests per throughput run. @default 20000 */
  rawTasks: number;
  /** Also time a chain whose links are each awaited before the next is called. @default true */
  awaited: boolean;
  /** Subjects to measure. @default all */
  only: HtexSubjectId[];
  /** Also write every sample to this JSON file. */
  json: string | undefined;
  help: boolean;
}

export const HTEX_USAGE = `Usage: npm run bench:htex -- [options]
       node --import tsx bench/htex.ts [options]

  --tasks N        no-op tasks per HTEX throughput run          (BENCH_HTEX_TASKS, default 50000)
  --chain N        links of the dependent chain                  (BENCH_HTEX_CHAIN, default 1000)
  --workers LIST   workers per block, one DFK start each; the
                   first is judged against the targets           (BENCH_HTEX_WORKERS, default 1,2)
  --blocks N       blocks (LocalProvider)                        (BENCH_HTEX_BLOCKS, default 2)
  --repeat N       timed runs of each measurement                (BENCH_HTEX_REPEAT, default 3)
  --warmup N       no-op tasks of each HTEX start's warm-up      (BENCH_HTEX_WARMUP, default 20000)
  --window N       raw baselines: requests in flight             (BENCH_HTEX_WINDOW, default 128)
  --raw-tasks N    raw baselines: requests per throughput run    (BENCH_HTEX_RAW_TASKS, default 20000)
  --no-awaited     skip the chain whose links are each awaited   (BENCH_HTEX_AWAITED=0)
  --only LIST      comma-separated subset of htex,nats,jetstream (BENCH_HTEX_ONLY, default all)
  --json FILE      also write every sample to FILE
  -h, --help       this text
`;

/** Reads flags, then `BENCH_HTEX_*` variables, then defaults. A flag wins over its variable. */
export function parseHtexBenchOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): HtexBenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      tasks: { type: 'string' },
      chain: { type: 'string' },
      workers: { type: 'string' },
      blocks: { type: 'string' },
      repeat: { type: 'string' },
      warmup: { type: 'string' },
      window: { type: 'string' },
      'raw-tasks': { type: 'string' },
      'no-awaited': { type: 'boolean' },
      only: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const workersRaw = values.workers ?? env.BENCH_HTEX_WORKERS ?? '1,2';
  const workers = workersRaw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((w) => positiveInt('--workers', w, 1));
  if (workers.length === 0) throw new BenchOptionError(`--workers takes a comma-separated list of workers per block, got '${workersRaw}'`);
  const awaitedEnv = env.BENCH_HTEX_AWAITED;
  return {
    tasks: positiveInt('--tasks', values.tasks ?? env.BENCH_HTEX_TASKS, 50_000),
    chain: positiveInt('--chain', values.chain ?? env.BENCH_HTEX_CHAIN, 1_000),
    workers: [...new Set(workers)],
    blocks: positiveInt('--blocks', values.blocks ?? env.BENCH_HTEX_BLOCKS, 2),
    repeat: positiveInt('--repeat', values.repeat ?? env.BENCH_HTEX_REPEAT, 3),
    warmup: positiveInt('--warmup', values.warmup ?? env.BENCH_HTEX_WARMUP, 20_000, true),
    window: positiveInt('--window', values.window ?? env.BENCH_HTEX_WINDOW, 128),
    rawTasks: positiveInt('--raw-tasks', values['raw-tasks'] ?? env.BENCH_HTEX_RAW_TASKS, 20_000),
    awaited: values['no-awaited'] ? false : !['0', 'false', 'no'].includes((awaitedEnv ?? '').toLowerCase()),
    only: subjectList(values.only ?? env.BENCH_HTEX_ONLY, HTEX_SUBJECT_IDS),
    json: values.json,
    help: values.help ?? false,
  };
}

/**
 * A long campaign that can be stopped at any moment and picked up where it was: Ctrl-C,
 * `kill -9`, a reboot of the login node. Each run works in `runinfo/NNN`; its checkpoint keeps
 * every result the moment the script sees it (`checkpointMode: 'task_exit'`).
 *
 *   npx parsl-ts run examples/campaign.ts              # start; Ctrl-C whenever you like
 *   npx parsl-ts run --resume examples/campaign.ts     # go on: finished steps are not run again
 *
 * With `--resume`, calls whose results are in the checkpoint end `memo_done` at once, and (on a
 * HighThroughputExecutor) calls still running on blocks when the driver died are adopted, not
 * run again. The `memo_done` count below shows how much was kept.
 *
 * Files are written in $PARSL_EXAMPLE_DIR, or in the working directory.
 */
import { join } from 'node:path';
import { app, Config, load, ThreadPoolExecutor } from '../src/index.ts';

const workdir = process.env.PARSL_EXAMPLE_DIR ?? process.cwd();
const samples = Number(process.argv[2] ?? 400);

await using dfk = load(
  new Config({
    executors: [new ThreadPoolExecutor({ maxThreads: 4 })],
    runDir: join(workdir, 'runinfo'),
    // The first run writes the checkpoint that `--resume` reads (a resumed run defaults to it).
    checkpointMode: 'task_exit',
  }),
);

/** One "simulation": a slow, deterministic function of its sample number. */
const simulate = app(
  (sample: number) => {
    let x = sample + 1;
    for (let i = 0; i < 2_000_000; i++) x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  },
  { cache: true },
);

/** The campaign's summary: the mean of every simulation. */
const summarize = app((...values: number[]) => values.reduce((a, b) => a + b, 0) / values.length, { cache: true });

const results = Array.from({ length: samples }, (_, i) => simulate(i));
let done = 0;
for (const result of results) void result.then(() => ++done % 50 === 0 && console.log(`${done}/${samples} simulations done`));
const mean = await summarize(...results);
console.log(`mean of ${samples} simulations: ${mean.toFixed(6)}`);
console.log(`run directory ${dfk.runDir}: ${JSON.stringify(dfk.taskStateCounts)}`);

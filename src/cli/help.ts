/** The usage screen of `parsl-ts --help`. Lines stay within 80 columns. */
export const USAGE = `parsl-ts: run TypeScript scripts whose apps execute in parallel, as in Parsl.

Usage:
  parsl-ts run [options] <script> [script arguments...]
  parsl-ts monitor [--db <file>] [--port <n>]
  parsl-ts --version
  parsl-ts --help

Commands:
  run <script>       Run a TypeScript or JavaScript script. In it, load() with
                     no argument starts a kernel with the config chosen here.
  monitor            Serve the live web dashboard of a monitoring database
                     (default runinfo/monitoring.db) on 127.0.0.1:8080.
                     'parsl-ts monitor --help'.
  block ...          Run a block manager (what providers start on each node
                     for a HighThroughputExecutor). 'parsl-ts block --help'.
  site ...           Start a site's NATS leaf node on its login node: it dials
                     out to the driver's hub, so the site needs no inbound
                     port. 'parsl-ts site --help'.
  globus-auth        Log in to Globus for GlobusStaging; tokens saved
                     owner-only. 'parsl-ts globus-auth --help'.
  help               Show this screen.

Options of run:
  --config <file>    A module whose default export is a Config, or a function
                     (sync or async) returning one.
  --threads <n>      Worker threads: a ThreadPoolExecutor with n threads. With
                     --config, each thread pool of that config gets n threads.
  --retries <n>      How many times a failed task is tried again.
  --resume[=<dir>]   Resume the latest run of the config's runDir (or the run
                     directory given): finished calls are not run again, calls
                     still running on HTEX blocks are adopted.
  --                 Ends the options of run: the next argument is the script.

  Arguments after the script are the script's own: it finds them in
  process.argv.slice(2), as under node.

Other options:
  -h, --help         Show this screen.
  -v, --version      Print the version of parsl-ts.

Environment:
  PARSL_TS_CONFIG, PARSL_TS_THREADS, PARSL_TS_RETRIES
                     Defaults for --config, --threads and --retries; the flags
                     win. Without parsl-ts run, load() still reads
                     PARSL_TS_THREADS and PARSL_TS_RETRIES.
  PARSL_TS_RESUME    What --resume sets: 'latest' or a run directory.
  PARSL_TS_RUN_DIR   Config.runDir for configs that name none (default
                     runinfo).

Stopping:
  Ctrl-C (SIGINT) or SIGTERM stops the loaded kernel (tasks still outstanding
  fail with KernelClosedError), then exits with status 130 or 143. A second
  signal exits at once.

Exit status:
  0 done, 1 the script or config module threw, 2 bad command line or config,
  130 interrupted, 143 terminated.

Examples:
  parsl-ts run pipeline.ts
  parsl-ts run --threads 8 pipeline.ts data/*.csv
  parsl-ts run --config configs/local.ts --retries 2 pipeline.ts --verbose
  PARSL_TS_THREADS=2 parsl-ts run pipeline.ts

  A config module, configs/local.ts:
    import { Config, ThreadPoolExecutor } from 'parsl-ts';
    export default new Config({
      executors: [new ThreadPoolExecutor({ maxThreads: 4 })],
      retries: 1,
    });
`;

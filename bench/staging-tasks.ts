/**
 * Staging as tasks of the graph (dataflow/staging-plan.ts) against the provider called
 * directly: what a stage-in task (or in-task staging) adds per file.
 *
 *   node --import tsx bench/staging-tasks.ts [--files 1000] [--size 4096] [--threads 2] [--repeat 3]
 *
 * Subjects, each over `--files` files of `--size` bytes from the staging tests' HTTP server
 * (its own process, on loopback), every file read by one app call on a ThreadPoolExecutor:
 * - raw: `HTTPSeparateTaskStaging.stageIn` called directly, 16 at a time (no DFK, no app);
 * - app only: the same calls on local files that need no staging (the DFK's own cost);
 * - separate task: each call's input staged by an `_http_stage_in` task the app waits on;
 * - in task: each call's input staged by the worker (`HTTPInTaskStaging`) before the app.
 * Median of `--repeat` runs, subjects rotated each round; nothing asserted.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { app, clear, Config, File, HTTPInTaskStaging, HTTPSeparateTaskStaging, load, NoOpFileStaging, ThreadPoolExecutor } from '../src/index.ts';
import { content } from '../test/support/http-server.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const FILES = option('files', 1000);
const SIZE = option('size', 4096);
const THREADS = option('threads', 2);
const REPEAT = option('repeat', 3);

const dir = mkdtempSync(join(tmpdir(), 'parsl-ts-bench-staging-tasks-'));
const server = spawn(process.execPath, ['--import', 'tsx', new URL('./workers/http-file-server.ts', import.meta.url).pathname], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const port = await new Promise<number>((resolve, reject) => {
  server.stdout.setEncoding('utf8').once('data', (line: string) => resolve(Number(line.trim())));
  server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});
let round = 0;
// A fresh name each run: nothing is served from an earlier copy.
const url = (i: number): string => `http://127.0.0.1:${port}/data/${SIZE}/r${round}-f${i}.bin`;

const sizeOf = app((o: { inputs: File[] }) => statSync(o.inputs[0]!.filepath).size, { name: 'sizeOf' });

async function calls(executor: ThreadPoolExecutor, file: (i: number) => File, out: string): Promise<void> {
  load(new Config({ executors: [executor], runDir: join(out, 'runinfo'), progress: false }));
  try {
    const sizes = await Promise.all(Array.from({ length: FILES }, (_, i) => sizeOf({ inputs: [file(i)] })));
    if (sizes.some((s) => s !== SIZE)) throw new Error('a file arrived short');
  } finally {
    await clear();
  }
}

const local = join(dir, 'local');
mkdirSync(local);
for (let i = 0; i < FILES; i++) writeFileSync(join(local, `f${i}.bin`), content(0, SIZE));

const http = new HTTPSeparateTaskStaging();
const subjects: { name: string; run: (out: string) => Promise<void>; seconds: number[] }[] = [
  {
    name: 'raw: provider stageIn, 16 at a time',
    run: async (out) => {
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < FILES) {
          const i = next++;
          await http.stageIn(new File(url(i)), out);
        }
      }));
    },
    seconds: [],
  },
  { name: 'app only (local files)', run: (out) => calls(new ThreadPoolExecutor({ maxThreads: THREADS }), (i) => new File(join(local, `f${i}.bin`)), out), seconds: [] },
  {
    name: 'separate task (_http_stage_in)',
    run: (out) => calls(new ThreadPoolExecutor({ maxThreads: THREADS, workingDir: join(out, 'staged') }), (i) => new File(url(i)), out),
    seconds: [],
  },
  {
    name: 'in task (HTTPInTaskStaging)',
    run: (out) =>
      calls(
        new ThreadPoolExecutor({ maxThreads: THREADS, workingDir: join(out, 'staged'), storageAccess: [new NoOpFileStaging(), new HTTPInTaskStaging()] }),
        (i) => new File(url(i)),
        out,
      ),
    seconds: [],
  },
];

for (let r = 0; r < REPEAT + 1; r++) {
  for (let k = 0; k < subjects.length; k++) {
    const subject = subjects[(k + r) % subjects.length]!;
    const out = join(dir, `run-${round++}`);
    mkdirSync(out);
    const started = process.hrtime.bigint();
    await subject.run(out);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // The first round warms the server, the workers and the connections: not counted.
    if (r > 0) subject.seconds.push(seconds);
    console.error(`${subject.name}: ${seconds.toFixed(3)} s${r === 0 ? ' (warm-up)' : ''}`);
    rmSync(out, { recursive: true, force: true });
  }
}
server.stdin.end();
rmSync(dir, { recursive: true, force: true });

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`\n${FILES} files of ${SIZE} B over HTTP on loopback, ${THREADS} worker threads, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; median of ${REPEAT}`);
console.log('| subject | time (s) | files/s |');
console.log('| --- | ---: | ---: |');
for (const s of subjects) {
  const m = median(s.seconds);
  console.log(`| ${s.name} | ${m.toFixed(3)} (${Math.min(...s.seconds).toFixed(2)}-${Math.max(...s.seconds).toFixed(2)}) | ${Math.round(FILES / m).toLocaleString('en-US')} |`);
}

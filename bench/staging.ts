/**
 * Staging throughput over HTTP (src/staging/http.ts), side by side with curl and with a raw copy:
 *
 *   node --import tsx bench/staging.ts [--small 1000] [--small-size 4096] [--big-mb 1024] [--parallel 16] [--repeat 3]
 *
 * - N small files, `--parallel` transfers at a time: parsl-ts `HTTPSeparateTaskStaging.stageIn`
 *   (temporary name, size check, rename, in-flight map), a raw node:http GET loop writing each
 *   body to its file (same keep-alive agent settings, no checks), one `curl --parallel` process
 *   over the same URLs, and `fs.copyFile` of the same number of local files;
 * - one big file: parsl-ts stageIn, a raw node:http GET piped to a file, `curl -o`, and
 *   `fs.copyFile` of a local file of that size.
 * The server (the staging tests' HTTP server: deterministic bytes, generated, not read from disk)
 * runs in its own process on loopback. Each figure is the median of `--repeat` runs, the subjects
 * taken in a rotated order each round (the machine's page cache and load drift); nothing asserted.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { Agent, get, type IncomingMessage } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { File } from '../src/staging/file.ts';
import { HTTPSeparateTaskStaging } from '../src/staging/http.ts';
import { content } from '../test/support/http-server.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const SMALL = option('small', 1000);
const SMALL_SIZE = option('small-size', 4096);
const BIG = option('big-mb', 1024) * 1024 * 1024;
const PARALLEL = option('parallel', 16);
const REPEAT = option('repeat', 3);

const dir = mkdtempSync(join(tmpdir(), 'parsl-ts-bench-staging-'));
const server = spawn(process.execPath, ['--import', 'tsx', new URL('./workers/http-file-server.ts', import.meta.url).pathname], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const port = await new Promise<number>((resolve, reject) => {
  server.stdout.setEncoding('utf8').once('data', (line: string) => resolve(Number(line.trim())));
  server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});
const base = `http://127.0.0.1:${port}`;
const curl = spawnSync('curl', ['--version'], { encoding: 'utf8' });
const curlVersion = curl.status === 0 ? curl.stdout.split('\n')[0]!.split(' ').slice(0, 2).join(' ') : undefined;

interface Subject {
  what: string;
  subject: string;
  files: number;
  bytes: number;
  run: (out: string) => Promise<void>;
  seconds: number[];
}
const subjects: Subject[] = [];

function subject(what: string, name: string, files: number, bytes: number, run: (out: string) => Promise<void>): void {
  subjects.push({ what, subject: name, files, bytes, run, seconds: [] });
}

async function measure(entry: Subject): Promise<void> {
  const out = join(dir, `${entry.what}-${entry.subject}`.replace(/\W+/g, '-'));
  mkdirSync(out, { recursive: true });
  const started = process.hrtime.bigint();
  await entry.run(out);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  entry.seconds.push(seconds);
  console.error(`${entry.what} ${entry.subject}: ${seconds.toFixed(3)} s`);
  rmSync(out, { recursive: true, force: true });
}

/** Every subject of a group `REPEAT` times, starting one further along the group each round. */
async function runGroup(what: string): Promise<void> {
  const group = subjects.filter((s) => s.what === what);
  for (let round = 0; round < REPEAT; round++) {
    for (let k = 0; k < group.length; k++) await measure(group[(k + round) % group.length]!);
  }
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Runs `work(i)` for i in [0, n) with at most `parallel` at a time. */
async function pool(n: number, parallel: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, async () => {
    while (next < n) await work(next++);
  }));
}

const rawAgent = new Agent({ keepAlive: true });
async function rawGet(url: string, target: string): Promise<void> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => get(url, { agent: rawAgent }, resolve).once('error', reject));
  await pipeline(response, createWriteStream(target));
}

function runCurl(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', argv, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`curl exited ${code}`))));
  });
}

const http = new HTTPSeparateTaskStaging();
const smallUrl = (i: number) => `${base}/data/${SMALL_SIZE}/f${i}.bin`;
const smallBytes = SMALL * SMALL_SIZE;

// Warm the server and the connections.
await pool(64, PARALLEL, (i) => http.stageIn(new File(smallUrl(i)), join(dir, 'warm')).then(() => {}));

subject(`${SMALL} x ${SMALL_SIZE} B`, 'parsl-ts stageIn', SMALL, smallBytes, (out) =>
  pool(SMALL, PARALLEL, (i) => http.stageIn(new File(smallUrl(i)), out).then(() => {})),
);
subject(`${SMALL} x ${SMALL_SIZE} B`, 'raw node:http GET', SMALL, smallBytes, (out) =>
  pool(SMALL, PARALLEL, (i) => rawGet(smallUrl(i), join(out, `f${i}.bin`))),
);
if (curlVersion) {
  subject(`${SMALL} x ${SMALL_SIZE} B`, `curl --parallel (${PARALLEL})`, SMALL, smallBytes, async (out) => {
    const config = join(dir, 'curl-small.conf');
    writeFileSync(config, Array.from({ length: SMALL }, (_, i) => `url = "${smallUrl(i)}"\noutput = "${join(out, `f${i}.bin`)}"\n`).join(''));
    await runCurl(['--silent', '--no-progress-meter', '--fail', '--parallel', '--parallel-max', String(PARALLEL), '-K', config]);
  });
}
const localSmall = join(dir, 'local-small');
mkdirSync(localSmall);
for (let i = 0; i < SMALL; i++) writeFileSync(join(localSmall, `f${i}.bin`), content(0, SMALL_SIZE));
subject(`${SMALL} x ${SMALL_SIZE} B`, 'fs.copyFile (local)', SMALL, smallBytes, (out) =>
  pool(SMALL, PARALLEL, (i) => copyFile(join(localSmall, `f${i}.bin`), join(out, `f${i}.bin`))),
);

const bigUrl = `${base}/data/${BIG}/big.bin`;
const bigLabel = `1 x ${(BIG / 2 ** 20).toFixed(0)} MiB`;
const checkBig = (path: string) => {
  if (statSync(path).size !== BIG) throw new Error(`${path}: ${statSync(path).size} bytes, expected ${BIG}`);
};
subject(bigLabel, 'parsl-ts stageIn', 1, BIG, async (out) => checkBig(await http.stageIn(new File(bigUrl), out)));
subject(bigLabel, 'raw node:http GET', 1, BIG, async (out) => {
  await rawGet(bigUrl, join(out, 'big.bin'));
  checkBig(join(out, 'big.bin'));
});
if (curlVersion) {
  subject(bigLabel, 'curl -o', 1, BIG, async (out) => {
    await runCurl(['--silent', '--fail', '-o', join(out, 'big.bin'), bigUrl]);
    checkBig(join(out, 'big.bin'));
  });
}
const localBig = join(dir, 'local-big.bin');
{
  const handle = createWriteStream(localBig);
  for (let at = 0; at < BIG; at += 1 << 20) if (!handle.write(content(at, Math.min(BIG, at + (1 << 20))))) await new Promise<void>((r) => handle.once('drain', () => r()));
  await new Promise<void>((resolve) => handle.end(resolve));
}
subject(bigLabel, 'fs.copyFile (local)', 1, BIG, async (out) => {
  await copyFile(localBig, join(out, 'big.bin'));
  checkBig(join(out, 'big.bin'));
});

await runGroup(`${SMALL} x ${SMALL_SIZE} B`);
await runGroup(bigLabel);

server.stdin.end();
rawAgent.destroy();
rmSync(dir, { recursive: true, force: true });

console.log(
  `\nStaging over HTTP on loopback, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, ${curlVersion ?? 'curl not installed'}; median of ${REPEAT} (min-max)`,
);
console.log('| transfer | subject | time (s) | files/s | MB/s |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const row of subjects) {
  const m = median(row.seconds);
  const range = `${Math.min(...row.seconds).toFixed(2)}-${Math.max(...row.seconds).toFixed(2)}`;
  console.log(
    `| ${row.what} | ${row.subject} | ${m.toFixed(3)} (${range}) | ${Math.round(row.files / m).toLocaleString('en-US')} | ${(row.bytes / 1e6 / m).toFixed(1)} |`,
  );
}

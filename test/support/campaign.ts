/**
 * Kill-and-resume campaigns for the tests of issue 8: runs test/fixtures/campaign-driver.ts with
 * `parsl-ts run`, `kill -9`s it `kills` times, each time once a random number of new results has
 * reached it (an event on its stdout, never a timer), resumes it with `--resume`, and checks what
 * ran: every final result, and that no task whose result the script had seen ran again.
 */
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { expected } from '../fixtures/campaign-apps.ts';

export interface CampaignOptions {
  kind: 'threads' | 'htex';
  dir: string;
  tasks: number;
  busyMs: number;
  kills: number;
  /** Random numbers (seeded by the test, printed, so that a failure can be replayed). */
  random: () => number;
  log?: (line: string) => void;
  /** More environment for the driver (CAMPAIGN_HEARTBEAT_THRESHOLD: the blocks' threshold in ms). */
  env?: Record<string, string>;
}

export interface CampaignReport {
  /** Incarnations of the driver: 1 + kills. */
  drivers: number;
  /** Results each killed driver had seen before its kill. */
  seenPerKill: number[];
  /** Indexes that ran more than once (their side-effect line appears twice or more). */
  ranTwice: number[];
  /** Indexes seen finished by a driver that was then killed, and that ran again after that. */
  repeatedAfterDone: number[];
  /** Indexes whose final result is missing or wrong. */
  wrong: number[];
  /** How many tasks the last driver ran (`exec_done`) vs found done (`memo_done`). */
  lastCounts: string;
  /** Lines of the side-effect log when each killed driver was gone. */
  logLinesPerKill: number[];
}

const BIN = new URL('../../bin/parsl-ts.js', import.meta.url).pathname;
const DRIVER = new URL('../fixtures/campaign-driver.ts', import.meta.url).pathname;

/** One driver: resolves when it exits; `killAfter` new results (if given) makes it be killed with SIGKILL. */
export function drive(options: CampaignOptions, resume: boolean, seen: Set<number>, killAfter: number | undefined, results: Map<number, string>) {
  const runDir = join(options.dir, 'runinfo');
  const sideLog = join(options.dir, 'side.log');
  const args = [BIN, 'run', ...(resume ? ['--resume'] : []), DRIVER, options.kind, runDir, sideLog, String(options.tasks), String(options.busyMs)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PARSL_TS_RESUME: '', ...options.env } });
  let fresh = 0;
  let stderr = '';
  let last = '';
  let buffered = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const done = /^done (\d+) (\S+)$/.exec(line);
      if (!done) {
        last = line;
        continue;
      }
      const i = Number(done[1]);
      results.set(i, done[2]!);
      if (!seen.has(i)) {
        seen.add(i);
        if (++fresh === killAfter) child.kill('SIGKILL');
      }
    }
  });
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; last: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr, last })),
  );
}

/** Runs the campaign to its end through `kills` kills; throws if a driver fails in another way. */
export async function runCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const sideLog = join(options.dir, 'side.log');
  const seen = new Set<number>();
  const kills: { done: Set<number>; logLines: number }[] = [];
  let results = new Map<number, string>();
  let lastCounts = '';
  for (let k = 0; k <= options.kills; k++) {
    const remaining = options.tasks - seen.size;
    // Spread the kills over what is left: each one after 1..2x its share of new results.
    const share = Math.max(1, Math.floor(remaining / (options.kills - k + 2)));
    const killAfter = k < options.kills ? 1 + Math.floor(options.random() * 2 * share) : undefined;
    results = new Map();
    const outcome = await drive(options, k > 0, seen, killAfter, results);
    for (const line of outcome.stderr.split('\n')) if (/Warning/.test(line)) options.log?.(`driver ${k} warned: ${line.slice(0, 300)}`);
    if (killAfter !== undefined && outcome.signal === 'SIGKILL') {
      kills.push({ done: new Set(seen), logLines: lines(sideLog).length });
      options.log?.(`driver ${k}: killed after ${killAfter} new results (${seen.size}/${options.tasks} seen done)`);
      continue;
    }
    if (outcome.code !== 0) throw new Error(`driver ${k} ended with ${outcome.signal ?? outcome.code}:\n${outcome.stderr}`);
    if (!/^all done/.test(outcome.last)) throw new Error(`driver ${k} ended without 'all done' (${outcome.last}):\n${outcome.stderr}`);
    lastCounts = outcome.last.replace(/^all done /, '');
    // Ended before its kill came (a short campaign): nothing left to kill.
    break;
  }
  const log = lines(sideLog);
  const runs = new Map<number, number>();
  for (const line of log) runs.set(Number(line), (runs.get(Number(line)) ?? 0) + 1);
  const repeated = new Set<number>();
  for (const kill of kills) {
    for (const line of log.slice(kill.logLines)) if (kill.done.has(Number(line))) repeated.add(Number(line));
  }
  const wrong: number[] = [];
  for (let i = 0; i < options.tasks; i++) if (results.get(i) !== expected(i)) wrong.push(i);
  return {
    drivers: kills.length + 1,
    seenPerKill: kills.map((kill) => kill.done.size),
    ranTwice: [...runs].filter(([, n]) => n > 1).map(([i]) => i),
    repeatedAfterDone: [...repeated],
    wrong,
    lastCounts,
    logLinesPerKill: kills.map((kill) => kill.logLines),
  };
}

function lines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
}

/** A small seeded generator (mulberry32), so that a failing campaign can be replayed with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs `node …args` as a fresh process, timed by /usr/bin/time when it is there (the CPU of the
 * process and the children it waited for), for the benchmarks that measure cold processes as users
 * run them (anchors.ts, scale.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

export interface TimedRun {
  /** What the process printed on stdout. */
  out: string;
  /** Wall time of the whole process (from /usr/bin/time, else measured here). */
  wallMs: number;
  /** User + system CPU, undefined without /usr/bin/time. */
  cpuMs: number | undefined;
}

/** Resolves when the process exits 0; rejects with the last lines of its stderr otherwise. */
export function runTimedNode(nodeArgs: string[], cwd: string): Promise<TimedRun> {
  const command = TIME ?? process.execPath;
  const args = TIME ? ['-f', 'TIME %e %U %S', process.execPath, ...nodeArgs] : nodeArgs;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const time = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(err);
      if (code !== 0) return reject(new Error(`exit ${code}: ${err.replace(/TIME .*/, '').trim().split('\n').slice(-3).join(' | ')}`));
      resolve({
        out,
        wallMs: time ? Number(time[1]) * 1000 : wallMs,
        cpuMs: time ? (Number(time[2]) + Number(time[3])) * 1000 : undefined,
      });
    });
  });
}

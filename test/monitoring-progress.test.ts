import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProgressLine } from '../src/monitoring/progress.ts';

const FIXTURE = 'test/fixtures/monitoring-progress.ts';

test('under a terminal: one line redrawn in place, at most 4 times a second, the last counts drawn', () => {
  // script(1) from util-linux gives the child a pseudo-terminal; its output comes back on our stdout.
  const run = spawnSync('script', ['-qec', `node --import tsx ${FIXTURE}`, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  assert.is(run.status, 0, run.stderr);
  const out = run.stdout;
  const stats = /draws=(\d+) enabled=(\w+) elapsed=(\d+)/.exec(out);
  assert.ok(stats, out);
  assert.is(stats[2], 'true');
  const draws = Number(stats[1]);
  const elapsed = Number(stats[3]);
  assert.ok(draws >= 2, `drawn ${draws} times`);
  // The first draw is at once; then at most one per 250 ms, and one at close().
  assert.ok(draws <= Math.floor(elapsed / 250) + 2, `${draws} draws in ${elapsed} ms`);
  // Each redraw erases the line before (ESC[2K ESC[1A): one line, rewritten.
  assert.is(out.split('\x1b[2K\x1b[1A').length - 1, draws - 1);
  assert.match(out, /199 done · 0 running · 0 pending · 1 failed · [\d.]+ tasks\/s/);
  assert.match(out, /0 done · 1 running · 199 pending · 0 failed/);
});

test('not a terminal: nothing at all on stdout', () => {
  const run = spawnSync('node', ['--import', 'tsx', FIXTURE], { encoding: 'utf8', timeout: 60_000 });
  assert.is(run.status, 0, run.stderr);
  assert.is(run.stdout, '');
  assert.match(run.stderr, /draws=0 enabled=false/);
});

test('the line: rate over the window and ETA from it', () => {
  let now = 0;
  const written: string[] = [];
  const stream = { isTTY: true, columns: 200, rows: 24, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const line = new ProgressLine({ stream, now: () => now, maxRedrawsPerSecond: 1000 });
  line.update({ done: 0, running: 4, pending: 96, failed: 0 });
  now = 2000;
  line.update({ done: 18, running: 4, pending: 76, failed: 2 });
  // 20 finished in 2 s: 10 tasks/s, 80 left: 8 s.
  assert.is(line.render(), '18 done · 4 running · 76 pending · 2 failed · 10.0 tasks/s · ETA 0:08');
  line.close();
  assert.match(written.join(''), /ETA 0:08/);
});

test.run();

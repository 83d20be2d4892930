/**
 * The parsl-ts workloads every executor is measured with, whatever executor the loaded
 * kernel has: no-op apps submitted then awaited, a chain of dependent apps, and the same chain
 * awaited link by link. Each checks its results and returns the elapsed milliseconds.
 */
import { app, type AppFuture } from '../../src/index.ts';
import { expectAllZero, expectEqual, now } from './subject.ts';

/** The no-op app every workload calls. */
export const noop = app(() => 0, { name: 'noop' });
const inc = app((x: number) => x + 1, { name: 'inc' });

/** `n` no-op apps called at once, then awaited. */
export async function throughputRun(subject: string, n: number): Promise<number> {
  const started = now();
  const futures = new Array<AppFuture<number>>(n);
  for (let i = 0; i < n; i++) futures[i] = noop();
  const values = await Promise.all(futures);
  const elapsed = now() - started;
  expectAllZero(`${subject} throughput`, values, n);
  return elapsed;
}

/** `n` dependent apps called at once, each given the future of the one before. */
export async function chainRun(subject: string, n: number): Promise<number> {
  const started = now();
  let last = inc(0);
  for (let i = 1; i < n; i++) last = inc(last);
  const value = await last;
  const elapsed = now() - started;
  expectEqual(`${subject} chain`, value, n);
  return elapsed;
}

/** `n` dependent apps, each awaited before the next is called; `links` gets each link's time. */
export async function chainAwaitedRun(subject: string, n: number, links?: Float64Array): Promise<number> {
  const started = now();
  let value = 0;
  let t = started;
  for (let i = 0; i < n; i++) {
    value = await inc(value);
    const t2 = now();
    if (links) links[i] = t2 - t;
    t = t2;
  }
  const elapsed = now() - started;
  expectEqual(`${subject} awaited chain`, value, n);
  return elapsed;
}

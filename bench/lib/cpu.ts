/**
 * CPU time of processes, from /proc (Linux): how much of a measurement each process of a
 * distributed subject (the DFK, nats-server, the blocks) paid for, whatever the wall clock
 * says on a shared machine.
 */
import { readFileSync } from 'node:fs';
import type { MetricId } from './subject.ts';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ): 100 on every Linux this runs on. */
const TICKS_PER_S = 100;

/** User + system CPU time of a process and all its threads so far, in ms; undefined if unknown. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/** The processes of a subject, by role. */
export interface CpuRoles {
  driver: number[];
  nats: number[];
  runners: number[];
}

export type CpuMetrics = { driver: MetricId; nats: MetricId; runners: MetricId };
/** Where the CPU figures of a throughput run and of a chain go. */
export const THROUGHPUT_CPU: CpuMetrics = { driver: 'cpuDriver', nats: 'cpuNats', runners: 'cpuRunners' };
export const CHAIN_CPU: CpuMetrics = { driver: 'chainCpuDriver', nats: 'chainCpuNats', runners: 'chainCpuRunners' };

function total(pids: number[]): number | undefined {
  let sum = 0;
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms === undefined) return undefined;
    sum += ms;
  }
  return sum;
}

/**
 * Runs `fn` and returns what it returned, with the CPU each role used meanwhile, in µs per
 * unit of work (task or link). /proc counts in 10 ms ticks: over runs of a second or more,
 * a few percent. A role whose processes are unknown or gone is left out.
 */
export async function withCpu<T>(
  roles: CpuRoles,
  units: number,
  metrics: CpuMetrics,
  fn: () => Promise<T>,
): Promise<{ result: T; cpu: Partial<Record<MetricId, number>> }> {
  const keys = ['driver', 'nats', 'runners'] as const;
  const before = keys.map((k) => total(roles[k]));
  const result = await fn();
  const cpu: Partial<Record<MetricId, number>> = {};
  keys.forEach((k, i) => {
    const after = total(roles[k]);
    const b = before[i];
    if (after !== undefined && b !== undefined && roles[k].length > 0) cpu[metrics[k]] = ((after - b) * 1000) / units;
  });
  return { result, cpu };
}

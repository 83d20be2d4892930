/**
 * CPU and memory of a process, as Parsl's resource monitor records them with psutil: CPU
 * seconds in user and system mode, resident and virtual memory. Read from Linux's `/proc`;
 * elsewhere only this process can be measured (`process.cpuUsage()`, `memoryUsage`).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { totalmem } from 'node:os';

/** One reading of a process (or a bash command's process group), cumulative since it started. */
export interface ProcessReading {
  pid: number;
  /** CPU seconds. */
  timeUser: number;
  timeSystem: number;
  /** Bytes. */
  memoryResident: number;
  memoryVirtual: number | undefined;
  memoryPercent: number;
  /** Other processes of a command's group. */
  childrenCount?: number | undefined;
}

/** Linux's clock tick: `getconf CLK_TCK` is 100 on every Linux that Node runs on. */
const CLOCK_TICKS = 100;

interface Stat {
  pgrp: number;
  /** Clock ticks of this process and of its children it waited for. */
  ticksUser: number;
  ticksSystem: number;
  vsize: number;
  rssPages: number;
}

function readStat(pid: number | 'self'): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (i: number) => Number(f[i] ?? 0);
  return { pgrp: num(2), ticksUser: num(11) + num(13), ticksSystem: num(12) + num(14), vsize: num(20), rssPages: num(21) };
}

let pageSize: number | undefined;
/** The page size, from this process's resident set in pages and in bytes (Node has no API for it). */
function pageBytes(): number {
  if (pageSize !== undefined) return pageSize;
  const pages = readStat('self')?.rssPages ?? 0;
  pageSize = pages > 0 ? 2 ** Math.round(Math.log2(process.memoryUsage.rss() / pages)) : 4096;
  return pageSize;
}

/** This process: the block manager, whose worker threads run function apps. */
export function readThisProcess(): ProcessReading {
  const cpu = process.cpuUsage();
  const rss = process.memoryUsage.rss();
  return {
    pid: process.pid,
    timeUser: cpu.user / 1e6,
    timeSystem: cpu.system / 1e6,
    memoryResident: rss,
    memoryVirtual: readStat('self')?.vsize,
    memoryPercent: (100 * rss) / totalmem(),
  };
}

/**
 * A bash app's command: the process group it leads (the command and what it started, as
 * psutil's `children(recursive=True)` would count them). Undefined once the command is gone
 * or where there is no `/proc`.
 */
export function readProcessGroup(pgid: number): ProcessReading | undefined {
  const leader = readStat(pgid);
  if (!leader) return undefined;
  let ticksUser = leader.ticksUser;
  let ticksSystem = leader.ticksSystem;
  let vsize = leader.vsize;
  let rssPages = leader.rssPages;
  let children = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    // No listing: the leader alone.
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === pgid) continue;
    const stat = readStat(pid);
    if (stat?.pgrp !== pgid) continue;
    children++;
    ticksUser += stat.ticksUser;
    ticksSystem += stat.ticksSystem;
    vsize += stat.vsize;
    rssPages += stat.rssPages;
  }
  const rss = rssPages * pageBytes();
  return {
    pid: pgid,
    timeUser: ticksUser / CLOCK_TICKS,
    timeSystem: ticksSystem / CLOCK_TICKS,
    memoryResident: rss,
    memoryVirtual: vsize,
    memoryPercent: (100 * rss) / totalmem(),
    childrenCount: children,
  };
}

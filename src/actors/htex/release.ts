/**
 * How an HTEX manager state lets go of everything it holds, once: at a shutdown, at a stop, and
 * before a restart after a crash (so that a restart leaves nothing of the previous run behind).
 * The order matters: retries and timers end first, so nothing starts again while the rest
 * closes; then blocks are told to shut down and their jobs cancelled; NATS and the embedded
 * server close last, after the words to the blocks are out. Tasks it held are not failed
 * here: at a shutdown the DFK fails them, after a restart it launches them again.
 */
import { encodeJson, type Subjects } from '../../nats/protocol.ts';
import type { ResolvedHighThroughputExecutorOptions } from '../../executors/htex.ts';
import { stopNats, type Connected } from './nats-setup.ts';
import type { BlockTable } from './block-table.ts';
import type { Drains } from './drains.ts';
import type { HtexMonitoring } from './monitoring.ts';
import type { RunTakeover } from './run-takeover.ts';
import type { SiteLink } from './site-link.ts';

/** What a manager state holds. */
export interface Holdings {
  /** Ends every retry and every late callback of this state's run. */
  abort: AbortController;
  ticker: NodeJS.Timeout | undefined;
  drains: Drains;
  link: SiteLink | undefined;
  /** NATS, once up; else what is starting it (waited for, so that it is closed too). */
  connected: Connected | undefined;
  starting: Promise<Connected | undefined>;
  subjects: Subjects;
  blocks: BlockTable;
  takeover: RunTakeover;
  provider: ResolvedHighThroughputExecutorOptions['provider'];
  monitoring: HtexMonitoring | undefined;
}

export async function releaseHoldings(held: Holdings): Promise<void> {
  held.abort.abort();
  if (held.ticker) clearInterval(held.ticker);
  held.link?.stop();
  held.drains.clear();
  const connected = held.connected ?? (await held.starting);
  const shutdown = (blockId: string): void => connected?.nc.publish(held.subjects.blockControl(blockId), encodeJson({ type: 'shutdown' }));
  const jobs: string[] = [];
  for (const life of held.blocks.lives()) {
    if (life.ended) continue;
    shutdown(life.blockId);
    life.to('cancelled');
    if (life.jobId !== undefined) jobs.push(life.jobId);
  }
  // Blocks of earlier drivers of a resumed run (not ours to cancel): told to end too.
  for (const blockId of held.takeover.earlierBlocks(held.blocks)) shutdown(blockId);
  if (jobs.length > 0) await held.provider.cancel(jobs).catch(() => {});
  held.monitoring?.close();
  if (connected) await stopNats(connected, held.subjects, held.link?.inReach ?? true);
}

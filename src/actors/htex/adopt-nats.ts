/**
 * The NATS side of HTEX adoption (adopt.ts): saving what a resumed driver needs, and asking
 * JetStream whether an adopted try can still be somewhere.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { BLOCK_CONSUMER, type Subjects } from '../../nats/protocol.ts';
import { writeRunState } from './adopt.ts';
import { DFK_CONSUMER, type Connected } from './nats-setup.ts';

/** Writes `htex.json` (run id, the embedded server's port, login and pid, every block id); warns if it cannot. */
export function saveRunState(dir: string, runId: string, connected: Connected, blocks: string[]): void {
  const { user, password } = connected.blockConnection;
  try {
    writeRunState(dir, {
      runId,
      port: connected.server?.port ?? 0,
      user: user ?? '',
      password: password ?? '',
      serverPid: connected.server?.pid,
      blocks,
    });
  } catch (error) {
    process.emitWarning(`the HTEX run state is not saved (a resumed run cannot adopt its blocks): ${(error as Error).message}`, { code: 'PARSL_TS_RESUME' });
  }
}

/** True when the work queue holds no batch (waiting or held by a block) and the results stream nothing unread. */
export async function queuesEmpty(jsm: JetStreamManager, subjects: Subjects): Promise<boolean> {
  const [tasks, results] = await Promise.all([jsm.consumers.info(subjects.taskStream, BLOCK_CONSUMER), jsm.consumers.info(subjects.resultStream, DFK_CONSUMER)]);
  return tasks.num_pending + tasks.num_ack_pending + results.num_pending === 0;
}

import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { BLOCK_CONSUMER, type Subjects } from '../nats/protocol.ts';
import type { PullBudget } from './pull-budget.ts';
import { startupMark } from '../common/startup-trace.ts';

/**
 * How long one pull waits at the server for a batch. The client gives up on a pull that hears
 * nothing (no batch, no idle heartbeat) for two heartbeats of half this: at 1 s, blocks whose
 * event loop lagged a second (100 blocks starting on 2 cores) gave up on pulls the server then
 * answered, and those batches sat unacknowledged until their ack wait (30 s) ended: 20,000
 * tasks on 100 blocks took 32 s instead of 4. Kept well under the teardown's 5 s, which waits
 * for the pull under way.
 */
const FETCH_EXPIRES_MS = 2_500;

/**
 * Pulls task batches from the work queue while the budget has room, and hands each to
 * `onBatch`. Returns a function that stops pulling and resolves once the pull under way (if
 * any) has ended.
 *
 * A pull is a request the server keeps for up to FETCH_EXPIRES_MS: a batch published in that
 * time is delivered to this block even if it has since been drained or told to stop. Such a
 * batch is handed back at once (`nak`), never dropped: a dropped batch stayed with this gone
 * block until its ack wait (30 s) ended, which is what made a drained block's last work late.
 */
export function pullBatches(
  js: JetStreamClient,
  subjects: Subjects,
  budget: PullBudget,
  onBatch: (msg: JsMsg) => void,
  log: (line: string) => void,
): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    let consumer: Consumer | undefined;
    while (running) {
      try {
        const free = budget.free;
        if (free <= 0 || budget.closed) {
          // Woken as soon as a batch has run; the timeout only re-checks `running`.
          await budget.waitForRoom(250);
          continue;
        }
        consumer ??= await js.consumers.get(subjects.taskStream, BLOCK_CONSUMER);
        startupMark('block: fetch');
        const messages = await consumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
        for await (const msg of messages) {
          if (!running || budget.closed) {
            msg.nak();
            continue;
          }
          // Counted here, not when the actor gets to it, so the next fetch never asks for too many.
          budget.take();
          startupMark('block: batch');
          onBatch(msg);
        }
      } catch (error) {
        consumer = undefined;
        if (!running) return;
        log(`pulling tasks failed (${(error as Error).message}); trying again`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  })();
  return () => {
    running = false;
    budget.close();
    return loop;
  };
}

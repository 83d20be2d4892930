import type { NatsConnection } from '@nats-io/transport-node';
import { decodeJson, encodeJson, wantedSchema, type Subjects } from '../nats/protocol.ts';

/** How long the DFK may take to answer; then it is asked again (it may be restarting). */
const WANTED_TIMEOUT_MS = 2_000;

/**
 * Asks the DFK which of `tries` (of a batch JetStream delivered again) it still waits for,
 * until it answers or `signal` ends the block; keys are `taskId:attempt`. A batch handed out
 * again may hold tries whose results the DFK has had for long: a driver that is resumed after a
 * kill restarts the server, which can hand out a batch whose ack it lost.
 */
export async function stillWanted(
  nc: NatsConnection,
  subjects: Subjects,
  blockId: string,
  tries: ReadonlyArray<{ taskId: number; attempt: number }>,
  signal: AbortSignal,
): Promise<Set<string>> {
  const request = encodeJson({ blockId, tries: tries.map(({ taskId, attempt }) => ({ taskId, attempt })) });
  while (!signal.aborted) {
    try {
      const reply = await nc.request(subjects.wanted, request, { timeout: WANTED_TIMEOUT_MS });
      return new Set(decodeJson(reply.data, wantedSchema, 'answer about tries still wanted').tries.map((t) => `${t.taskId}:${t.attempt}`));
    } catch {
      // No DFK yet (a resumed driver starting): ask again.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return new Set();
}

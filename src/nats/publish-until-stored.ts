import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { Payload } from '@nats-io/transport-node';

export interface PublishUntilStoredOptions {
  /** JetStream's de-duplication id: a publish retried after a lost ack is stored once. */
  msgID: string;
  /** Stops the retries (the owner is shutting down or restarting). */
  signal?: AbortSignal | undefined;
  /** Asked after each failed publish: true ends the retries (what the message carries is no longer wanted). @default never */
  abandon?: (() => boolean) | undefined;
  /** Told of the first failure and of every 20th after it. @default silent */
  warn?: ((message: string) => void) | undefined;
  /** What is being stored, for the warning. @default 'a message' */
  what?: string;
  /** How long one publish waits for JetStream's ack. @default 5000 */
  timeoutMs?: number;
}

/** JetStream's acknowledgement, and how many publishes it took (1 when nothing failed). */
export interface StoredAck extends PubAck {
  attempts: number;
}

/**
 * Publishes to a stream until JetStream has stored the message: a server restart, a leader
 * election or a cut link between a site and the hub only delays it (a publish made during a cut
 * times out at the client and may or may not be stored: the same `msgID` makes a repeat count
 * once). Resolves with the ack once stored, `undefined` if `signal` or `abandon` ended the retries first (a
 * publish already sent may still be stored; its msgID keeps it single).
 */
export async function publishUntilStored(
  js: JetStreamClient,
  subject: string,
  data: Payload,
  options: PublishUntilStoredOptions,
): Promise<StoredAck | undefined> {
  const { msgID, signal, abandon, warn, what = 'a message', timeoutMs = 5_000 } = options;
  for (let attempt = 1; !signal?.aborted; attempt++) {
    try {
      const ack = await js.publish(subject, data, { msgID, timeout: timeoutMs });
      return Object.assign(ack, { attempts: attempt });
    } catch (error) {
      if (signal?.aborted || abandon?.()) return undefined;
      if (attempt === 1 || attempt % 20 === 0) warn?.(`storing ${what} not acknowledged (${(error as Error).message}); retrying`);
      try {
        // A timeout already waited; a refusal (no responders while a link is down) came at once.
        await sleep(Math.min(1_000, 50 * attempt), undefined, { signal });
      } catch {
        return undefined; // aborted while waiting
      }
    }
  }
  return undefined;
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient } from '@nats-io/jetstream';

export interface PublishUntilStoredOptions {
  /** JetStream's de-duplication id: a publish retried after a lost ack is stored once. */
  msgID: string;
  /** Stops the retries (the owner is shutting down or restarting). */
  signal: AbortSignal;
  /** Told of the first failure and of every 20th after it. */
  warn: (message: string) => void;
  /** What is being stored, for the warning. @default 'a message' */
  what?: string;
  /** How long one publish waits for JetStream's ack. @default 5000 */
  timeoutMs?: number;
}

/**
 * Publishes to a stream until JetStream has stored the message: a server restart or a
 * leader election only delays it. Resolves `true` once stored, `false` if `signal` ended the
 * retries first (a publish already sent may still be stored; its msgID keeps it single).
 */
export async function publishUntilStored(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  options: PublishUntilStoredOptions,
): Promise<boolean> {
  const { msgID, signal, warn, what = 'a message', timeoutMs = 5_000 } = options;
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await js.publish(subject, data, { msgID, timeout: timeoutMs });
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      if (attempt === 1 || attempt % 20 === 0) warn(`storing ${what} not acknowledged (${(error as Error).message}); retrying`);
      try {
        await sleep(Math.min(1_000, 50 * attempt), undefined, { signal });
      } catch {
        return false; // aborted while waiting
      }
    }
  }
  return false;
}

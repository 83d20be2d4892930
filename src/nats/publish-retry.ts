/**
 * Publishing across a link that may be cut (hub to site): a JetStream publish made during a cut
 * times out at the client and may or may not have been stored (INFRA.md, "Link cut"). Publishing
 * again with the same `msgID` until the stream acknowledges stores it exactly once: the stream
 * drops a repeat within its duplicate window (2 minutes by default) and acks it as a duplicate.
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { Payload } from '@nats-io/transport-node';

export interface PublishRetryOptions {
  /** The stream's dedupe key: the same for every attempt (a task's id). */
  msgID: string;
  /** Wait after an attempt that failed at once (no responders while the link is down). @default 100 */
  retryMs?: number;
  /** Stops retrying (the run is ending); the last error is thrown. */
  signal?: AbortSignal;
}

export interface StoredAck extends PubAck {
  /** How many publishes it took (1 when the link held). */
  attempts: number;
}

/** Publishes until the stream acknowledges; each attempt waits up to the client's timeout. */
export async function publishUntilStored(js: JetStreamClient, subject: string, data: Payload, options: PublishRetryOptions): Promise<StoredAck> {
  const retryMs = options.retryMs ?? 100;
  for (let attempts = 1; ; attempts++) {
    const started = Date.now();
    try {
      const ack = await js.publish(subject, data, { msgID: options.msgID });
      return Object.assign(ack, { attempts });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      // A timeout already waited; a refusal (no responders) came at once: do not spin.
      const wait = retryMs - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

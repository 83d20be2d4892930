import type { NatsConnection } from '@nats-io/transport-node';
import { encodeJson, type Subjects, type WorkerSampleMessage } from '../nats/protocol.ts';

export interface HeartbeatOptions {
  blockId: string;
  heartbeatPeriodMs: number;
  heartbeatThresholdMs: number;
  /** Tasks on this block's workers, reported with each heartbeat. */
  inFlight: () => number;
  /** Samples of the worker threads, sent with the next heartbeat. */
  sample: () => Promise<WorkerSampleMessage[]>;
  /** The DFK has been silent for the threshold: it is gone. */
  dfkGone: () => void;
  log: (line: string) => void;
}

/**
 * Sends this block's heartbeat every period and listens for the DFK's. Returns a function
 * that stops both.
 */
export function startHeartbeats(nc: NatsConnection, subjects: Subjects, options: HeartbeatOptions): () => void {
  let lastDfkBeat = Date.now();
  const sub = nc.subscribe(subjects.dfkHeartbeat, {
    callback: () => {
      lastDfkBeat = Date.now();
    },
  });
  let workers: WorkerSampleMessage[] | undefined;
  const timer = setInterval(() => {
    // First: whatever the connection's state, a block whose DFK is gone ends.
    if (Date.now() - lastDfkBeat > options.heartbeatThresholdMs) {
      options.log(`no heartbeat from the DFK for ${options.heartbeatThresholdMs} ms: it is gone; exiting`);
      options.dfkGone();
    }
    try {
      nc.publish(subjects.blockHeartbeat(options.blockId), encodeJson({ blockId: options.blockId, inFlight: options.inFlight(), at: Date.now(), workers }));
    } catch {
      // The connection is closing (the block is ending): nothing to tell.
    }
    // For the next beat: each thread answers on its control plane when its event loop is free.
    void options.sample().then((samples) => (workers = samples), () => {});
  }, options.heartbeatPeriodMs);
  return () => {
    clearInterval(timer);
    sub.unsubscribe();
  };
}

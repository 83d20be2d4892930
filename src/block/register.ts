import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { PROTOCOL_VERSION, decodeJson, encodeJson, registrationReplySchema, type Registration, type Subjects } from '../nats/protocol.ts';
import { PACKAGE_VERSION } from '../common/version.ts';

/**
 * Registers this block with the DFK, asking again until it answers or `thresholdMs` passes.
 * Resolves with the refusal's reason, or undefined once accepted.
 */
export async function register(
  nc: NatsConnection,
  subjects: Subjects,
  options: { blockId: string; workers: number; thresholdMs: number; packageVersion?: string | undefined },
  log: (line: string) => void,
): Promise<string | undefined> {
  const registration: Registration = {
    protocolVersion: PROTOCOL_VERSION,
    packageVersion: options.packageVersion ?? PACKAGE_VERSION,
    blockId: options.blockId,
    host: hostname(),
    pid: process.pid,
    workers: options.workers,
  };
  const until = Date.now() + options.thresholdMs;
  for (;;) {
    try {
      const reply = await nc.request(subjects.register, encodeJson(registration), { timeout: 2_000 });
      const answer = decodeJson(reply.data, registrationReplySchema, 'registration reply');
      return answer.ok ? undefined : answer.error;
    } catch (error) {
      if (Date.now() > until) return `no DFK answered on ${subjects.register} within ${options.thresholdMs} ms`;
      log(`registration not answered yet (${(error as Error).message}); trying again`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

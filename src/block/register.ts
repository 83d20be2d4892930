import { availableParallelism, hostname, totalmem } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { PROTOCOL_VERSION, decodeJson, encodeJson, registrationReplySchema, type Registration, type RegistrationReply, type Subjects } from '../nats/protocol.ts';
import { PACKAGE_VERSION } from '../common/version.ts';

/**
 * Registers this block with the DFK, asking again until it answers or `thresholdMs` passes.
 * Resolves with the DFK's answer; a refusal (or no answer) is `{ ok: false, error }`.
 */
export async function register(
  nc: NatsConnection,
  subjects: Subjects,
  options: { blockId: string; workers: number; thresholdMs: number; packageVersion?: string | undefined },
  log: (line: string) => void,
): Promise<RegistrationReply> {
  const registration: Registration = {
    protocolVersion: PROTOCOL_VERSION,
    packageVersion: options.packageVersion ?? PACKAGE_VERSION,
    blockId: options.blockId,
    host: hostname(),
    pid: process.pid,
    workers: options.workers,
    cpuCount: availableParallelism(),
    totalMemory: totalmem(),
    runtimeVersion: process.version,
  };
  const until = Date.now() + options.thresholdMs;
  for (;;) {
    try {
      const reply = await nc.request(subjects.register, encodeJson(registration), { timeout: 2_000 });
      return decodeJson(reply.data, registrationReplySchema, 'registration reply');
    } catch (error) {
      if (Date.now() > until) return { ok: false, error: `no DFK answered on ${subjects.register} within ${options.thresholdMs} ms` };
      log(`registration not answered yet (${(error as Error).message}); trying again`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

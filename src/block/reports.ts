import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encodeBinary, type BlockReport, type Subjects } from '../nats/protocol.ts';
import { publishUntilStored } from '../nats/publish-until-stored.ts';

/** How long results sent straight to the DFK wait for its answer before they are stored instead. */
const DIRECT_RESULTS_TIMEOUT_MS = 2_000;

/** Sends a block's reports (claims, running, results) to the DFK. */
export class ReportSender {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #subjects: Subjects;
  readonly #blockId: string;
  readonly #signal: AbortSignal;
  readonly #log: (line: string) => void;
  #published = 0;

  constructor(nc: NatsConnection, js: JetStreamClient, subjects: Subjects, blockId: string, signal: AbortSignal, log: (line: string) => void) {
    this.#nc = nc;
    this.#js = js;
    this.#subjects = subjects;
    this.#blockId = blockId;
    this.#signal = signal;
    this.#log = log;
  }

  /**
   * Results go straight to the DFK, which answers once it has them: one hop instead of a
   * stored message and its delivery. Without an answer (the DFK busy, the server restarting,
   * the connection down) they are stored in the results stream instead, where the DFK reads
   * them later; a result that arrives both ways is used once (the DFK ignores a second one).
   * Resolves `true` once delivered or stored, `false` if the block stopped first.
   */
  async deliver(report: BlockReport): Promise<boolean> {
    try {
      await this.#nc.request(this.#subjects.directResults, encodeBinary(report), { timeout: DIRECT_RESULTS_TIMEOUT_MS });
      return true;
    } catch {
      return this.store(report);
    }
  }

  /** Stores a report in the results stream until JetStream has it, or the block stops. */
  store(report: BlockReport): Promise<boolean> {
    return publishUntilStored(this.#js, this.#subjects.results, encodeBinary(report), {
      msgID: `${this.#blockId}-${++this.#published}`,
      signal: this.#signal,
      what: report.kind,
      warn: this.#log,
    }).then((ack) => ack !== undefined);
  }
}

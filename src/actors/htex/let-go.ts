/**
 * When the HTEX manager may let go of a block's results: only once the DFK has committed them
 * to the checkpoint. Letting go means acking them (the results stream then deletes them, and
 * a block sending them straight is answered and forgets them) and journalling them as reported
 * (adopt.ts: a resumed driver then no longer waits for them). Done earlier, a driver killed
 * between the two would lose results that neither the checkpoint nor the run's JetStream store
 * has, and a resumed run would run those tries again.
 */
import type { WireOutcome } from '../../wire/protocol.ts';
import type { Adoption } from './adopt.ts';

/**
 * The callback the DFK runs after its commit. A report that holds results kept for calls yet
 * to come (`kept`) is not acked: JetStream hands it over again after its ack wait (or the
 * block stores it there), so a driver killed before those calls come loses nothing; once the
 * calls have their results, the report comes back, is unknown to adoption, and is acked.
 */
export function letGo(adoption: Adoption, outcomes: WireOutcome[], kept: number, ack: () => void): () => void {
  return () => {
    if (kept > 0) return;
    adoption.committed(outcomes);
    try {
      ack();
    } catch {
      // The connection is closed (the manager stopped): the report comes again to whoever reads the stream next.
    }
  };
}

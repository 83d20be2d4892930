/**
 * Whether an executor's site is in reach: the owner of the site's state machine.
 *
 *   up ──(silent heartbeatThreshold)──▶ unreachable ──(silent siteLostTimeout)──▶ lost
 *    ▲                                      │                                      │
 *    └──────────────(any word from the site: a heartbeat, a report, its leaf's JetStream answering)
 *
 * Silent means: no block heartbeat or report, and the site's leaf node does not answer a
 * JetStream request through the hub (probed each heartbeat period). Unreachable, the DFK moves
 * the site's unpinned tries elsewhere; lost, the tries pinned there fail with `SiteLost`, and
 * new ones fail at once until the site is heard again.
 */
import { SiteLost } from '../../common/errors.ts';

export type SiteState = 'up' | 'unreachable' | 'lost';

export interface SiteWatchOptions {
  executor: string;
  site: string;
  unreachableAfterMs: number;
  lostAfterMs: number;
  /** Told of every change of state. */
  changed: (state: SiteState, previous: SiteState) => void;
}

export class SiteWatch {
  readonly #options: SiteWatchOptions;
  #state: SiteState = 'up';
  #lastContact = Date.now();

  constructor(options: SiteWatchOptions) {
    this.#options = options;
  }

  get state(): SiteState {
    return this.#state;
  }

  /** The site said something: it is up. */
  contact(): void {
    this.#lastContact = Date.now();
    this.#to('up');
  }

  /** Called each period: moves to unreachable or lost when the site has been silent long enough. */
  check(now = Date.now()): void {
    const silent = now - this.#lastContact;
    if (silent >= this.#options.lostAfterMs) this.#to('lost');
    else if (silent >= this.#options.unreachableAfterMs && this.#state === 'up') this.#to('unreachable');
  }

  /** The error of tries that were waiting for the lost site. */
  error(now = Date.now()): SiteLost {
    return new SiteLost(this.#options.executor, this.#options.site, now - this.#lastContact);
  }

  #to(state: SiteState): void {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.#options.changed(state, previous);
  }
}

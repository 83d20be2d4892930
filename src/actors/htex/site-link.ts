/**
 * What the HTEX manager tells the DFK's placement (src/actors/placement.ts): how many tries it
 * can run at once (its registered workers), and, for an executor with `site`, whether the site
 * is in reach (src/actors/htex/site-watch.ts), probing the site's leaf each heartbeat period.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { SiteLost } from '../../common/errors.ts';
import type { ResolvedSite } from '../../executors/htex-site.ts';
import { send, type Ref } from '../actor.ts';
import type { FromExecutor } from '../messages.ts';
import { siteAnswers } from './site-nats.ts';
import { SiteWatch } from './site-watch.ts';

export interface SiteLinkOptions {
  label: string;
  site: ResolvedSite | undefined;
  dfk: Ref<FromExecutor>;
  heartbeatPeriodMs: number;
  heartbeatThresholdMs: number;
  /** Registered workers now. */
  slots: () => number;
  /** Asks the manager (by a message to itself) to call `check` now. */
  tick: () => void;
  /** The site is lost: fail what waits for it with `error`. */
  lost: (error: SiteLost) => void;
}

export class SiteLink {
  readonly #options: SiteLinkOptions;
  readonly #watch: SiteWatch | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  /** The capacity last told, as `slots/available`. */
  #told = '';

  constructor(options: SiteLinkOptions) {
    this.#options = options;
    const { site } = options;
    if (!site) return;
    this.#watch = new SiteWatch({
      executor: options.label,
      site: site.name,
      unreachableAfterMs: options.heartbeatThresholdMs,
      lostAfterMs: site.siteLostTimeoutMs,
      changed: (state) => {
        this.tell();
        if (state !== 'lost') return;
        const error = this.#watch!.error();
        process.emitWarning(error.message, { code: 'PARSL_TS_SITE_LOST' });
        options.lost(error);
      },
    });
    this.#timer = setInterval(options.tick, options.heartbeatPeriodMs);
    this.#timer.unref();
  }

  /** The site said something (a block's heartbeat, report or registration; its leaf answered). */
  contact(): void {
    this.#watch?.contact();
  }

  /** Each heartbeat period: asks the site's leaf (its answer comes back through `answered`), and ages the silence. */
  check(jsm: JetStreamManager | undefined, answered: () => void): void {
    if (!this.#watch) return;
    if (jsm) void siteAnswers(jsm).then((ok) => ok && answered());
    this.#watch.check();
  }

  /** The error new tries fail with while the site is lost; undefined otherwise. */
  get lostError(): SiteLost | undefined {
    return this.#watch?.state === 'lost' ? this.#watch.error() : undefined;
  }

  /** Whether the site answers (always, for an executor without `site`). */
  get inReach(): boolean {
    return (this.#watch?.state ?? 'up') === 'up';
  }

  /** Tells the DFK the executor's capacity and reach, when they changed. */
  tell(): void {
    const slots = this.#options.slots();
    const available = this.inReach;
    const told = `${slots}/${available}`;
    if (told === this.#told) return;
    this.#told = told;
    send(this.#options.dfk, { type: 'capacity', label: this.#options.label, slots, available });
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}

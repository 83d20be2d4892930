/** How many sessions (commands, SFTP) one SSH connection carries at once. */

/**
 * Counts open sessions against `limit`; callers beyond it wait in order. The limit drops to what
 * the server really allows when it refuses a session while others are open.
 */
export class SessionSlots {
  private active = 0;
  private readonly waiting: Array<{ grant: () => void; fail: (error: unknown) => void }> = [];
  constructor(private limit: number) {}

  get open(): number {
    return this.active;
  }

  /** Resolves with a release function once a slot is free; rejects with `signal.reason` if aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.limit) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const onAbort = (): void => waiter.fail(signal!.reason);
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take());
        },
        fail: (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** The server refused a session while `open` others were open: that is its limit. */
  shrink(): void {
    this.limit = Math.max(1, Math.min(this.limit, this.active));
  }

  /** Rejects everyone still waiting. */
  failAll(error: Error): void {
    for (const waiter of [...this.waiting]) waiter.fail(error);
  }

  private take(): () => void {
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      while (this.active < this.limit && this.waiting.length > 0) this.waiting.shift()!.grant();
    };
  }
}

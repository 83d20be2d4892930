import type { ExecutionProvider, JobStatus } from '../../providers/provider.ts';

/**
 * Asks a provider about many jobs in one scheduler call: block actors ask for their own job;
 * the questions that arrive in the same turn of the event loop go out as one `status(ids)`
 * (one `squeue`, not one per block), as Parsl polls all its jobs at once.
 */
export class StatusPoller {
  readonly #provider: ExecutionProvider;
  #waiting = new Map<string, Array<{ resolve: (status: JobStatus | undefined) => void; reject: (error: unknown) => void }>>();
  #scheduled = false;

  constructor(provider: ExecutionProvider) {
    this.#provider = provider;
  }

  statusOf(jobId: string): Promise<JobStatus | undefined> {
    return new Promise((resolve, reject) => {
      let waiters = this.#waiting.get(jobId);
      if (!waiters) this.#waiting.set(jobId, (waiters = []));
      waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#ask());
      }
    });
  }

  async #ask(): Promise<void> {
    const waiting = this.#waiting;
    this.#waiting = new Map();
    this.#scheduled = false;
    const ids = [...waiting.keys()];
    try {
      const statuses = await this.#provider.status(ids);
      const byId = new Map(statuses.map((s) => [s.jobId, s]));
      for (const [id, waiters] of waiting) for (const w of waiters) w.resolve(byId.get(id));
    } catch (error) {
      for (const waiters of waiting.values()) for (const w of waiters) w.reject(error);
    }
  }
}

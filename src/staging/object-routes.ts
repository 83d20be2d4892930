/**
 * Where the driver reaches each executor's object store: the JetStream an HTEX executor's
 * blocks use (a site's leaf domain, through the DFK's login to the site's account on its hub;
 * or the executor's own server). Registered by the executor once its NATS is up
 * (actors/htex/nats-setup.ts), read by the relay that copies a `nats://` file from the site that
 * wrote it to the site that reads it (dataflow/staging-plan.ts). Also remembers the buckets a run
 * used at each executor, so that they are deleted with the run.
 */
import type { ObjectEnd } from './object-store.ts';

const routes = new Map<string, ObjectEnd>();
const waiting = new Map<string, (() => void)[]>();
const buckets = new Map<string, Set<string>>();

/** The executor `label`'s object store is reachable through `end` (until `dropObjectRoute`). */
export function registerObjectRoute(label: string, end: ObjectEnd): void {
  routes.set(label, end);
  for (const wake of waiting.get(label) ?? []) wake();
  waiting.delete(label);
}

/**
 * Forgets the route and deletes the buckets the run used there (their streams): nothing of a
 * run outlives it. Errors are ignored (a site cut off at the end keeps them; its leaf's limits apply).
 */
export async function dropObjectRoute(label: string): Promise<void> {
  const end = routes.get(label);
  routes.delete(label);
  const used = buckets.get(label);
  buckets.delete(label);
  if (!end || !used) return;
  await Promise.all([...used].map((bucket) => end.jsm.streams.delete(`OBJ_${bucket}`).catch(() => false)));
}

/** Notes that the run stores objects in `bucket` at executor `label`. */
export function noteBucket(label: string, bucket: string): void {
  let set = buckets.get(label);
  if (!set) buckets.set(label, (set = new Set()));
  set.add(bucket);
}

/** The route to executor `label`'s object store, once it is registered (or `signal` ends the wait). */
export async function objectRoute(label: string, signal?: AbortSignal): Promise<ObjectEnd> {
  for (;;) {
    const end = routes.get(label);
    if (end) return end;
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal!.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      const list = waiting.get(label) ?? [];
      list.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      waiting.set(label, list);
    });
  }
}

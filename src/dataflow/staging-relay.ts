/**
 * `nats://` files between sites (staging/nats-object.ts): a task's output goes into the object
 * store of the site it ran at; a task at another site that reads it needs a copy in its own
 * site's store first. The staging plan pins a call with `nats://` outputs to the executor it
 * chose, remembers where each such output is written, prefers that executor for a reader that
 * may run there (no copy at all), and otherwise puts a `_nats_relay` task between writer and
 * reader: it runs in the driver and copies the object through the DFK's logins to both sites
 * (staging/object-store.ts `copyObject`: chunk by chunk, resumed after a cut, digest checked).
 */
import type { AppDefinition } from '../apps/app.ts';
import { driverApp } from './driver-apps.ts';
import { DataFuture, type AppFuture } from '../apps/future.ts';
import type { File } from '../staging/file.ts';
import { objectOf } from '../staging/nats-object.ts';
import { noteBucket, objectRoute } from '../staging/object-routes.ts';
import { copyObject } from '../staging/object-store.ts';
import { taskSignal } from '../worker/task-context.ts';

/** Executor label each `nats://` output (the copy its DataFuture holds) is written at. */
const writtenAt = new WeakMap<File, string>();

/** True for a `nats://` file. */
export function isObjectFile(file: File): boolean {
  return file.scheme === 'nats';
}

/** Notes that `file` (an output's copy) is written into the object store at executor `label`. */
export function noteObjectOutput(file: File, label: string): void {
  writtenAt.set(file, label);
  noteBucket(label, objectOf(file, 'out').bucket);
}

/** Where the `nats://` file was written, when a call of this run wrote it. */
export function objectWriterOf(file: File): string | undefined {
  return writtenAt.get(file);
}

/** Of the executors a call may use, the one that wrote one of its `nats://` inputs (no copy needed then). */
export function executorNearObjects(files: readonly File[], allowed: readonly string[]): string | undefined {
  for (const file of files) {
    const label = writtenAt.get(file);
    if (label !== undefined && allowed.includes(label)) return label;
  }
  return undefined;
}

let relay: AppDefinition | undefined;
/** The relay tasks submitted, per object (the writer's output file) and reading executor. */
const relays = new WeakMap<File, Map<string, AppFuture<unknown>>>();

/** The driver-side app that copies an object from one executor's store to another's. */
function relayApp(): AppDefinition {
  if (relay) return relay;
  const name = '_nats_relay';
  // Arguments: the file, the writer's and the reader's executor, then the dependency (ignored).
  const fn = async (file: File, from: string, to: string): Promise<string> => {
    const signal = taskSignal();
    const { bucket, name: objectName } = objectOf(file, 'in');
    const [source, target] = await Promise.all([objectRoute(from, signal), objectRoute(to, signal)]);
    return copyObject(source, target, bucket, objectName, { signal });
  };
  relay = driverApp(name, import.meta.url, fn);
  return relay;
}

/**
 * Submits the copy of `file` from executor `from` to `to`, after `upstream` (the writer's
 * output); resolves to a `DataFuture` of `marked` (the reader's in-task copy) once copied.
 */
export function relayObject(submit: (app: AppDefinition, args: unknown[]) => AppFuture<unknown>, file: File, from: string, to: string, upstream: DataFuture, marked: File): DataFuture {
  // One copy per object and site: readers at one site share it (a second copy would replace
  // the first, and purge its chunks, under a reader's feet).
  let copies = relays.get(file);
  if (!copies) relays.set(file, (copies = new Map()));
  let future = copies.get(to);
  if (!future) {
    noteBucket(to, objectOf(file, 'in').bucket);
    future = submit(relayApp(), [file.cleancopy(), from, to, upstream]);
    copies.set(to, future);
  }
  const copied = new DataFuture(future, marked);
  future.addOutput(copied);
  return copied;
}

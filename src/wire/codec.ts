import { SerializationError } from '../common/errors.ts';
import { File } from '../staging/file.ts';
import type { InTaskStaging } from '../staging/in-task.ts';

/**
 * Arguments and results cross threads by structured clone and processes by `v8.serialize`.
 * Both keep Map, Set, Date, RegExp, BigInt, Error, ArrayBuffer and typed arrays, but turn a
 * `Buffer` into a plain `Uint8Array`, turn class instances into plain objects without a word,
 * and throw on functions and symbols part-way through a batch. So values are checked and
 * tagged first: `encodeValue` refuses what cannot travel (naming where it sits) and wraps
 * what needs rebuilding; `decodeValue` rebuilds it.
 *
 * The walk copies a container only when something inside it changed, so plain data costs a
 * read, not a copy.
 */

const TAG = '__parsl_ts_tag';

type Tagged =
  | { [TAG]: 'Buffer'; bytes: Uint8Array }
  | { [TAG]: 'File'; url: string; localPath?: string | undefined; inTask?: InTaskStaging | undefined };

const cloneablePrototypes = new Set<object | null>([
  Object.prototype,
  null,
  Array.prototype,
  Date.prototype,
  RegExp.prototype,
  Map.prototype,
  Set.prototype,
  ArrayBuffer.prototype,
  Boolean.prototype,
  Number.prototype,
  String.prototype,
]);

function isCloneableBuiltin(value: object): boolean {
  if (ArrayBuffer.isView(value) || value instanceof Error) return true;
  if (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer) return true;
  return cloneablePrototypes.has(Object.getPrototypeOf(value));
}

/** Checks and tags a value for sending; throws `SerializationError` naming the offending path. */
export function encodeValue(value: unknown, path = 'value'): unknown {
  return encode(value, path, 0);
}

function encode(value: unknown, path: string, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return value;
    case 'function':
      throw new SerializationError(
        `${path} is a function, which cannot be sent to a worker. Pass data, or call the function inside the app.`,
      );
    case 'symbol':
      throw new SerializationError(`${path} is a symbol, which cannot be sent to a worker.`);
  }
  if (value === null) return value;
  const object = value as object;
  if (depth > 200) throw new SerializationError(`${path} is nested more than 200 levels deep.`);
  if (Buffer.isBuffer(object)) return { [TAG]: 'Buffer', bytes: new Uint8Array(object.buffer, object.byteOffset, object.byteLength) };
  if (object instanceof File) {
    // What the worker stages around the task travels with the file (in-task staging).
    if (object.inTaskStaging) return { [TAG]: 'File', url: object.url, localPath: object.localPath, inTask: object.inTaskStaging };
    return { [TAG]: 'File', url: object.url, localPath: object.localPath };
  }
  if (typeof (object as { then?: unknown }).then === 'function') {
    throw new SerializationError(
      `${path} is a future or promise. Futures are resolved only where they are given as arguments, ` +
        'as values of the trailing options object, or inside `inputs`; await it or pass it there.',
    );
  }
  if (!isCloneableBuiltin(object)) {
    const name = (object as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
    throw new SerializationError(
      `${path} is an instance of class ${name}, which would reach the worker as a plain object without its ` +
        'methods. Send plain data (objects, arrays, Map, Set, Date, typed arrays, Buffer, File) instead.',
    );
  }
  if (Array.isArray(object)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < object.length; i++) {
      const item: unknown = object[i];
      const encoded = encode(item, `${path}[${i}]`, depth + 1);
      if (encoded !== item) (copy ??= object.slice())[i] = encoded;
    }
    return copy ?? object;
  }
  if (object instanceof Map) {
    let changed = false;
    const entries: [unknown, unknown][] = [];
    let i = 0;
    for (const [k, v] of object) {
      const ek = encode(k, `${path}.keys()[${i}]`, depth + 1);
      const ev = encode(v, `${path}.get(${typeof k === 'string' ? JSON.stringify(k) : i})`, depth + 1);
      if (ek !== k || ev !== v) changed = true;
      entries.push([ek, ev]);
      i++;
    }
    return changed ? new Map(entries) : object;
  }
  if (object instanceof Set) {
    let changed = false;
    const items: unknown[] = [];
    let i = 0;
    for (const v of object) {
      const ev = encode(v, `${path}.values()[${i++}]`, depth + 1);
      if (ev !== v) changed = true;
      items.push(ev);
    }
    return changed ? new Set(items) : object;
  }
  if (Object.getPrototypeOf(object) === Object.prototype || Object.getPrototypeOf(object) === null) {
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(object)) {
      const item = (object as Record<string, unknown>)[key];
      const encoded = encode(item, `${path}.${key}`, depth + 1);
      if (encoded !== item) (copy ??= { ...object })[key] = encoded;
    }
    return copy ?? object;
  }
  return object;
}

/** Rebuilds tagged values (Buffer, File) after receiving. */
export function decodeValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) value[i] = decodeValue(item);
    }
    return value;
  }
  const tag = (value as Partial<Tagged>)[TAG];
  if (tag === 'Buffer') {
    const { bytes } = value as { bytes: Uint8Array };
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  if (tag === 'File') {
    const tagged = value as { url: string; localPath?: string; inTask?: InTaskStaging };
    const file = new File(tagged.url);
    file.localPath = tagged.localPath;
    if (tagged.inTask) file.inTaskStaging = tagged.inTask;
    return file;
  }
  if (value instanceof Map) {
    let changed = false;
    const entries: [unknown, unknown][] = [];
    for (const [k, v] of value) {
      const dk = decodeValue(k);
      const dv = decodeValue(v);
      if (dk !== k || dv !== v) changed = true;
      entries.push([dk, dv]);
    }
    return changed ? new Map(entries) : value;
  }
  if (value instanceof Set) {
    let changed = false;
    const items: unknown[] = [];
    for (const v of value) {
      const dv = decodeValue(v);
      if (dv !== v) changed = true;
      items.push(dv);
    }
    return changed ? new Set(items) : value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === 'object' && item !== null) record[key] = decodeValue(item);
    }
  }
  return value;
}

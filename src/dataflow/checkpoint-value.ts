import { serialize } from 'node:v8';

/**
 * A stored result's bytes, in V8's serialization format (what `v8.deserialize` reads, so the
 * checkpoint's format is unchanged), written here for the common shapes of results: numbers,
 * latin1 strings, booleans, null, undefined, and plain objects and dense arrays of those.
 * `v8.serialize` costs 2–5 µs a call even for a number (it builds a serializer object each
 * time) and the checkpoint writer calls it once per result; this writes those shapes in a
 * fraction of that, and hands everything else (Map, Set, Date, typed arrays, BigInt, other
 * strings, shared or cyclic objects, arrays with holes or extra keys…) to `v8.serialize`.
 * test/checkpoint-value.test.ts checks the bytes against `v8.serialize`.
 */
export function serializeResult(value: unknown): Buffer {
  out.length = HEADER.length;
  depth = 0;
  if (seen.size > 0) seen.clear();
  return write(value) ? Buffer.from(out.bytes.subarray(0, out.length)) : serialize(value);
}

/** `0xFF` and the format version of this V8: taken from `v8.serialize`, not assumed. */
const HEADER = serialize(null).subarray(0, 2);
const MAX_DEPTH = 32;

/** One growing buffer, reused by every call (the result is copied out of it). */
const out = { bytes: Buffer.alloc(4096), length: 0 };
HEADER.copy(out.bytes);
let depth = 0;
/** The objects written by this call: one met twice (shared, or a cycle) is left to V8, which writes a reference. */
const seen = new Set<object>();

function reserve(n: number): void {
  if (out.length + n <= out.bytes.length) return;
  const bigger = Buffer.alloc(Math.max(out.bytes.length * 2, out.length + n));
  out.bytes.copy(bigger, 0, 0, out.length);
  out.bytes = bigger;
}

function tag(char: string): void {
  reserve(1);
  out.bytes[out.length++] = char.charCodeAt(0);
}

function varint(n: number): void {
  reserve(5);
  while (n >= 0x80) {
    out.bytes[out.length++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out.bytes[out.length++] = n;
}

const LATIN1 = /^[\x00-\xff]*$/;

/** A latin1 string as V8 writes a one-byte string; false for others (V8 aligns two-byte ones). */
function oneByteString(text: string): boolean {
  if (!LATIN1.test(text)) return false;
  tag('"');
  varint(text.length);
  reserve(text.length);
  out.length += out.bytes.write(text, out.length, 'latin1');
  return true;
}

/** Writes `value`; false when it is not a shape handled here (the caller then uses v8.serialize). */
function write(value: unknown): boolean {
  switch (typeof value) {
    case 'number':
      // V8 writes a small integer as a zigzag varint, any other number as a float64.
      if (Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 && !Object.is(value, -0)) {
        tag('I');
        varint(((value << 1) ^ (value >> 31)) >>> 0);
      } else {
        tag('N');
        reserve(8);
        out.length = out.bytes.writeDoubleLE(value, out.length);
      }
      return true;
    case 'string':
      return oneByteString(value);
    case 'boolean':
      tag(value ? 'T' : 'F');
      return true;
    case 'undefined':
      tag('_');
      return true;
    case 'object':
      if (value === null) {
        tag('0');
        return true;
      }
      if (++depth > MAX_DEPTH || seen.has(value)) return false;
      seen.add(value);
      try {
        return Array.isArray(value) ? denseArray(value) : Object.getPrototypeOf(value) === Object.prototype && plainObject(value as Record<string, unknown>);
      } finally {
        depth--;
      }
    default:
      return false;
  }
}

/** `A` length, the items, `$` 0 properties, length: V8's dense array (no holes, no other keys). */
function denseArray(array: unknown[]): boolean {
  const length = array.length;
  tag('A');
  varint(length);
  for (let i = 0; i < length; i++) if (!(i in array) || !write(array[i])) return false;
  if (Object.keys(array).length !== length) return false;
  tag('$');
  varint(0);
  varint(length);
  return true;
}

/** `o`, key and value pairs, `{` count. Keys that V8 writes as numbers (array indices) are left to it. */
function plainObject(object: Record<string, unknown>): boolean {
  tag('o');
  const keys = Object.keys(object);
  for (const key of keys) {
    if (isIndex(key) || !oneByteString(key) || !write(object[key])) return false;
  }
  tag('{');
  varint(keys.length);
  return true;
}

function isIndex(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 48 && c <= 57; // starts with a digit: maybe an index, which V8 writes as a number
}

import { File } from '../staging/file.ts';

/**
 * The canonical encoding of a call's arguments, for memo keys: equal data gives equal bytes
 * whatever order it was built in, and different data different bytes (each value starts
 * with a type tag; strings and containers with their length).
 *
 * - Plain objects: keys sorted. Map entries and Set items: sorted by their own encoding.
 *   Maps and Sets do remember insertion order, and an app could observe it, but in a
 *   campaign the order is usually an accident of which task finished first: an
 *   order-sensitive key would miss the cache on resume whenever tasks finished in another
 *   order. Plain objects remember their key order too, and Parsl sorts dict keys for the
 *   same reason. Arrays keep their order (it is data).
 * - Numbers by their float64 bits (so `0` and `-0` differ, every NaN is one NaN); BigInt by
 *   its digits; Date by its time; RegExp by source and flags; typed arrays, DataView,
 *   ArrayBuffer by element type and bytes; Buffer apart from Uint8Array (the codec rebuilds
 *   it as a Buffer); boxed primitives by their value; Error by name and message; File by a
 *   token the caller chooses (its URL or its content hash).
 * - Cycles are encoded as a reference to the ancestor they point to. A shared (non-cyclic)
 *   object is encoded at each place, so sharing does not change the key.
 * - Not keyed (`Unkeyable`): functions, symbols, promises, class instances (their methods and
 *   private state are not data), WeakMap/WeakSet, SharedArrayBuffer (shared memory changes
 *   under the key: it is how apps signal, not data).
 */

/** Why a value has no canonical form; the message names where it sits. */
export class Unkeyable extends Error {
  override name = 'Unkeyable';
}

/** The token that stands for a `File`: `inOutputs` when it sits in the options' `outputs`. */
export type FileToken = (file: File, path: string, inOutputs: boolean) => string;

const enum Tag {
  Undefined = 1,
  Null,
  True,
  False,
  Number,
  String,
  BigInt,
  Array,
  Hole,
  Object,
  Map,
  Set,
  Date,
  RegExp,
  TypedArray,
  Buffer,
  ArrayBuffer,
  DataView,
  Boxed,
  Error,
  File,
  Cycle,
  Kwargs,
}

const MAX_DEPTH = 200;

const plainPrototypes = new Set<object | null>([Object.prototype, null]);

export class CanonicalWriter {
  #buffer = Buffer.allocUnsafe(256);
  #length = 0;
  readonly #ancestors: object[] = [];
  readonly #fileToken: FileToken;
  #inOutputs = false;

  constructor(fileToken: FileToken) {
    this.#fileToken = fileToken;
  }

  /** The bytes written so far. */
  bytes(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  #reserve(n: number): void {
    if (this.#length + n <= this.#buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + n));
    this.#buffer.copy(bigger, 0, 0, this.#length);
    this.#buffer = bigger;
  }

  #tag(tag: Tag): void {
    this.#reserve(1);
    this.#buffer[this.#length++] = tag;
  }

  length(n: number): void {
    this.#reserve(4);
    this.#length = this.#buffer.writeUInt32BE(n >>> 0, this.#length);
  }

  #raw(bytes: Uint8Array): void {
    this.length(bytes.byteLength);
    this.#reserve(bytes.byteLength);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.byteLength;
  }

  string(text: string): void {
    const size = Buffer.byteLength(text, 'utf8');
    this.length(size);
    this.#reserve(size);
    this.#length += this.#buffer.write(text, this.#length, 'utf8');
  }

  #number(n: number): void {
    this.#reserve(8);
    this.#length = this.#buffer.writeDoubleBE(Number.isNaN(n) ? Number.NaN : n, this.#length);
  }

  /** The trailing options object: like a plain object, without the `ignored` keys, `outputs` marked. */
  kwargs(kwargs: Record<string, unknown>, ignored: ReadonlySet<string>, path: string): void {
    this.#tag(Tag.Kwargs);
    const keys = Object.keys(kwargs)
      .filter((key) => !ignored.has(key))
      .sort();
    this.length(keys.length);
    for (const key of keys) {
      this.string(key);
      this.#inOutputs = key === 'outputs';
      try {
        this.value(kwargs[key], `${path}.${key}`);
      } finally {
        this.#inOutputs = false;
      }
    }
  }

  value(value: unknown, path: string): void {
    switch (typeof value) {
      case 'undefined':
        return this.#tag(Tag.Undefined);
      case 'boolean':
        return this.#tag(value ? Tag.True : Tag.False);
      case 'number':
        this.#tag(Tag.Number);
        return this.#number(value);
      case 'string':
        this.#tag(Tag.String);
        return this.string(value);
      case 'bigint':
        this.#tag(Tag.BigInt);
        return this.string(value.toString(16));
      case 'function':
        throw new Unkeyable(`${path} is a function, which has no canonical form`);
      case 'symbol':
        throw new Unkeyable(`${path} is a symbol, which has no canonical form`);
    }
    if (value === null) return this.#tag(Tag.Null);
    this.#object(value as object, path);
  }

  #object(object: object, path: string): void {
    const cycle = this.#ancestors.indexOf(object);
    if (cycle >= 0) {
      this.#tag(Tag.Cycle);
      return this.length(this.#ancestors.length - cycle);
    }
    if (this.#ancestors.length >= MAX_DEPTH) throw new Unkeyable(`${path} is nested more than ${MAX_DEPTH} levels deep`);
    this.#ancestors.push(object);
    try {
      this.#container(object, path);
    } finally {
      this.#ancestors.pop();
    }
  }

  #container(object: object, path: string): void {
    if (object instanceof File) {
      this.#tag(Tag.File);
      return this.string(this.#fileToken(object, path, this.#inOutputs));
    }
    if (typeof (object as { then?: unknown }).then === 'function') {
      throw new Unkeyable(`${path} is a future or promise; memo keys are made of resolved values`);
    }
    const proto: unknown = Object.getPrototypeOf(object);
    if (Array.isArray(object)) {
      this.#tag(Tag.Array);
      this.length(object.length);
      for (let i = 0; i < object.length; i++) {
        if (i in object) this.value(object[i], `${path}[${i}]`);
        else this.#tag(Tag.Hole);
      }
      return;
    }
    if (plainPrototypes.has(proto as object | null)) {
      this.#tag(Tag.Object);
      const record = object as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      this.length(keys.length);
      for (const key of keys) {
        this.string(key);
        this.value(record[key], `${path}.${key}`);
      }
      return;
    }
    if (object instanceof Map && proto === Map.prototype) {
      this.#tag(Tag.Map);
      let i = 0;
      const entries = [...object].map(([k, v]) => {
        const at = `${path}.get(${typeof k === 'string' ? JSON.stringify(k) : `<key ${i}>`})`;
        i++;
        return this.#sub((w) => {
          w.value(k, `${path}.keys()[${i - 1}]`);
          w.value(v, at);
        });
      });
      return this.#sorted(entries);
    }
    if (object instanceof Set && proto === Set.prototype) {
      this.#tag(Tag.Set);
      let i = 0;
      return this.#sorted([...object].map((item) => this.#sub((w) => w.value(item, `${path}.values()[${i++}]`))));
    }
    if (object instanceof Date && proto === Date.prototype) {
      this.#tag(Tag.Date);
      return this.#number(object.getTime());
    }
    if (object instanceof RegExp && proto === RegExp.prototype) {
      this.#tag(Tag.RegExp);
      this.string(object.source);
      return this.string(object.flags);
    }
    if (Buffer.isBuffer(object)) {
      this.#tag(Tag.Buffer);
      return this.#raw(object);
    }
    if (ArrayBuffer.isView(object)) {
      if (object.buffer instanceof SharedArrayBuffer) throw this.#shared(path);
      const view = new Uint8Array(object.buffer, object.byteOffset, object.byteLength);
      if (object instanceof DataView) {
        this.#tag(Tag.DataView);
      } else {
        this.#tag(Tag.TypedArray);
        this.string(Object.prototype.toString.call(object)); // [object Float64Array]: not spoofable by a subclass name
      }
      return this.#raw(view);
    }
    if (object instanceof ArrayBuffer && proto === ArrayBuffer.prototype) {
      this.#tag(Tag.ArrayBuffer);
      return this.#raw(new Uint8Array(object));
    }
    if (typeof SharedArrayBuffer !== 'undefined' && object instanceof SharedArrayBuffer) throw this.#shared(path);
    if (proto === Number.prototype || proto === String.prototype || proto === Boolean.prototype) {
      this.#tag(Tag.Boxed);
      return this.value((object as { valueOf(): unknown }).valueOf(), path);
    }
    if (object instanceof Error) {
      this.#tag(Tag.Error);
      this.string(object.name);
      return this.string(object.message);
    }
    const name = (object as { constructor?: { name?: string } }).constructor?.name || 'unknown';
    throw new Unkeyable(
      `${path} is an instance of class ${name}, which has no canonical form (its methods and private state are not data); ` +
        'pass plain data (objects, arrays, Map, Set, Date, typed arrays, Buffer, File)',
    );
  }

  #shared(path: string): Unkeyable {
    return new Unkeyable(`${path} is shared memory (SharedArrayBuffer), whose contents change under any key`);
  }

  /** Encodes one entry with a writer of its own (sharing the ancestors, for cycles). */
  #sub(write: (w: CanonicalWriter) => void): Buffer {
    const outer = { buffer: this.#buffer, length: this.#length };
    this.#buffer = Buffer.allocUnsafe(64);
    this.#length = 0;
    try {
      write(this);
      return Buffer.from(this.bytes());
    } finally {
      this.#buffer = outer.buffer;
      this.#length = outer.length;
    }
  }

  #sorted(entries: Buffer[]): void {
    entries.sort(Buffer.compare);
    this.length(entries.length);
    for (const entry of entries) this.#raw(entry);
  }
}

// The checkpoint's own writer of V8 serialization (src/dataflow/checkpoint-value.ts): the same
// bytes as v8.serialize for the shapes it writes, and v8.serialize's for the others.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deserialize, serialize } from 'node:v8';
import { serializeResult } from '../src/dataflow/checkpoint-value.ts';

const same: unknown[] = [
  0, 1, -1, 42, 2 ** 30 - 1, -(2 ** 30), 2 ** 30, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 40), 1.5, -0, Number.NaN, Infinity, -Infinity, 1e300,
  '', 'hello', 'x'.repeat(300), 'café', true, false, null, undefined,
  [], [1, 2, 3], [1, 'a', null, [true, [2.5]]], {}, { a: 1, b: 'two', c: [3, { d: false }] },
  { nested: { deeper: { deepest: ['x', 'y'] } }, n: -7 },
];

test('checkpoint-value - writes the bytes v8.serialize writes', () => {
  for (const value of same) {
    assert.equal([...serializeResult(value)], [...serialize(value)], `for ${JSON.stringify(value)}`);
  }
});

const other: unknown[] = [
  // A whole number that V8 holds as a float64 (in an array of doubles) is written as a small
  // integer here: other bytes, the same number.
  Array.from({ length: 1000 }, (_, i) => i * 1.5),
  'π ≈ 3.14', '😀', { 'ключ': 1 }, { 1: 'a', b: 2 }, [1, , 3], Object.assign([1, 2], { extra: true }), new Map([[1, 2]]),
  new Set(['a']), new Date(5), 10n, new Uint8Array([1, 2]), Object.create(null), { big: 1n },
  (() => { const shared = { s: 1 }; return [shared, shared]; })(),
  (() => { let deep: unknown = 1; for (let i = 0; i < 100; i++) deep = [deep]; return deep; })(),
];

test('checkpoint-value - other values read back as v8.serialize wrote them', () => {
  for (const value of other) {
    assert.equal(deserialize(serializeResult(value)), deserialize(serialize(value)));
  }
  assert.ok(Object.is(deserialize(serializeResult(-0)), -0));
  const cyclic: Record<string, unknown> = { n: 1 };
  cyclic.self = cyclic;
  const back = deserialize(serializeResult(cyclic)) as Record<string, unknown>;
  assert.is(back.self, back);
  const shared = { s: 1 };
  const pair = deserialize(serializeResult([shared, shared])) as unknown[];
  assert.is(pair[0], pair[1], 'shared objects stay shared (v8.serialize writes them)');
  // A call after one that gave up in the middle starts clean.
  assert.equal([...serializeResult({ a: [1, 2] })], [...serialize({ a: [1, 2] })]);
});

test('checkpoint-value - each call returns its own bytes', () => {
  const first = serializeResult('first');
  serializeResult('second');
  assert.is(deserialize(first), 'first');
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { File } from '../src/staging/file.ts';
import { memoKey, memoKeySync, type AppIdentity, type MemoKeyOptions, type MemoKeyResult } from '../src/dataflow/memo-key.ts';
import { FileHashCache } from '../src/dataflow/file-hash.ts';
import { tempDir } from './helpers.ts';

const work = tempDir();
test.after(() => work.remove());

const double = (x: number) => x * 2;
const app: AppIdentity = { kind: 'python', name: 'double', fn: double };

function key(args: unknown[], options: MemoKeyOptions = {}, identity: AppIdentity = app): string {
  const result = memoKeySync(identity, args, options);
  if (!result.ok) throw new Error(`expected a key, got: ${result.reason}`);
  assert.match(result.key, /^[0-9a-f]{64}$/);
  return result.key;
}

function reason(args: unknown[], options: MemoKeyOptions = {}): string {
  const result: MemoKeyResult = memoKeySync(app, args, options);
  if (result.ok) throw new Error('expected no key');
  return result.reason;
}

test('memo key - equal calls give equal keys, different arguments different keys', () => {
  assert.is(key([1, 'a', { b: [2, 3] }]), key([1, 'a', { b: [2, 3] }]));
  assert.is.not(key([1]), key([2]));
  assert.is.not(key([1]), key(['1']), 'number vs string');
  assert.is.not(key([1]), key([1n]), 'number vs bigint');
  assert.is.not(key([[1, 2]]), key([[2, 1]]), 'arrays keep their order');
  assert.is.not(key([['ab']]), key([['a', 'b']]), 'lengths are part of the encoding');
  assert.is.not(key([undefined]), key([null]));
  assert.is.not(key([[undefined]]), key([new Array(1)]), 'a hole is not undefined');
  assert.is.not(key([0]), key([-0]));
  assert.is(key([Number.NaN]), key([0 / 0]));
  assert.is.not(key([1, 2]), key([[1, 2]]));
});

test('memo key - plain objects do not depend on key order', () => {
  assert.is(key([{ a: 1, b: { c: 2, d: 3 } }]), key([{ b: { d: 3, c: 2 }, a: 1 }]));
  const nullProto = Object.assign(Object.create(null) as object, { b: 1, a: 2 });
  assert.is(key([nullProto]), key([{ a: 2, b: 1 }]));
  assert.is.not(key([{ a: 1 }]), key([{ a: 2 }]));
  assert.is.not(key([{ a: 1 }]), key([{ b: 1 }]));
});

test('memo key - Map and Set do not depend on insertion order; their contents do count', () => {
  assert.is(key([new Map<unknown, unknown>([['x', 1], [2, { y: 3 }]])]), key([new Map<unknown, unknown>([[2, { y: 3 }], ['x', 1]])]));
  assert.is(key([new Set([3, 1, 2])]), key([new Set([1, 2, 3])]));
  assert.is.not(key([new Set([1, 2])]), key([new Set([1, 2, 3])]));
  assert.is.not(key([new Map([['x', 1]])]), key([new Map([['x', 2]])]));
  assert.is.not(key([new Map([['x', 1]])]), key([{ x: 1 }]));
  assert.is.not(key([new Set([1])]), key([[1]]));
});

test('memo key - Date, RegExp, BigInt, typed arrays, Buffer, ArrayBuffer, boxed values', () => {
  assert.is(key([new Date(1000)]), key([new Date(1000)]));
  assert.is.not(key([new Date(1000)]), key([new Date(1001)]));
  assert.is.not(key([new Date(1000)]), key([1000]));
  assert.is.not(key([/a/g]), key([/a/i]));
  assert.is(key([2n ** 100n]), key([2n ** 100n]));
  assert.is.not(key([2n ** 100n]), key([2n ** 100n + 1n]));
  assert.is(key([new Float64Array([1, 2])]), key([new Float64Array([1, 2])]));
  assert.is.not(key([new Float64Array([1, 2])]), key([new Float64Array([1, 3])]));
  assert.is.not(key([new Uint8Array([1, 2])]), key([new Int8Array([1, 2])]), 'element type counts');
  assert.is.not(key([new Uint8Array([1, 2])]), key([Buffer.from([1, 2])]), 'Buffer apart from Uint8Array');
  assert.is(key([Buffer.from('abc')]), key([Buffer.from('abc')]));
  const big = new Uint8Array([9, 1, 2, 9]);
  assert.is(key([big.subarray(1, 3)]), key([new Uint8Array([1, 2])]), 'a view counts by its own bytes');
  assert.is(key([new Uint8Array([1, 2]).buffer]), key([new Uint8Array([1, 2]).buffer]));
  assert.is(key([new String('a')]), key([new String('a')]));
  assert.is.not(key([new String('a')]), key(['a']));
  assert.is(key([new Error('boom')]), key([new Error('boom')]));
});

test('memo key - shared objects and cycles have keys', () => {
  const shared = { a: 1 };
  assert.is(key([[shared, shared]]), key([[{ a: 1 }, { a: 1 }]]), 'sharing does not change the key');
  const a: Record<string, unknown> = { x: 1 };
  a.self = a;
  const b: Record<string, unknown> = { x: 1 };
  b.self = b;
  assert.is(key([a]), key([b]));
  const c: Record<string, unknown> = { x: 2 };
  c.self = c;
  assert.is.not(key([a]), key([c]));
});

test('memo key - an edited function is a new key; keyBy name keeps the key', () => {
  const v1: AppIdentity = { kind: 'python', name: 'f', fn: (x: number) => x + 1 };
  const v1again: AppIdentity = { kind: 'python', name: 'f', fn: (x: number) => x + 1 };
  const v2: AppIdentity = { kind: 'python', name: 'f', fn: (x: number) => x + 2 };
  assert.is(key([1], {}, v1), key([1], {}, v1again), 'same source text, same key');
  assert.is.not(key([1], {}, v1), key([1], {}, v2));
  assert.is(key([1], { keyBy: 'name' }, v1), key([1], { keyBy: 'name' }, v2));
  assert.is.not(key([1], { keyBy: 'name' }, v1), key([1], { keyBy: 'name' }, { ...v1, name: 'g' }));
  assert.is.not(key([1], {}, v1), key([1], {}, { ...v1, kind: 'bash' }), 'the kind counts');
  const fromSource: AppIdentity = { kind: 'python', name: 'f', ref: { kind: 'source', name: 'f', source: '(x) => x + 1' } };
  assert.is(key([1], {}, fromSource), key([1], {}, { ...fromSource }));
  const moduleApp = (at: string): AppIdentity => ({
    kind: 'python',
    name: 'f',
    fn: v1.fn,
    ref: { kind: 'module', name: 'f', module: at, exportName: 'f' },
  });
  assert.is.not(key([1], {}, moduleApp('file:///a.ts')), key([1], {}, moduleApp('file:///b.ts')), 'module URL counts');
  const noName = memoKeySync({ kind: 'python', name: '', fn: v1.fn }, [1], { keyBy: 'name' });
  assert.is(noName.ok, false);
  const bound = memoKeySync({ kind: 'python', name: 'f', fn: double.bind(null) }, [1]);
  assert.ok(!bound.ok && /bound or built-in function/.test(bound.reason), 'bound functions all print as native code');
  assert.ok(memoKeySync({ kind: 'python', name: 'f', fn: double.bind(null) }, [1], { keyBy: 'name' }).ok);
  const noCode = memoKeySync({ kind: 'python', name: 'f' }, [1]);
  assert.ok(!noCode.ok && /code of app f is unknown/.test(noCode.reason));
});

test('memo key - unkeyable values give a reason naming where they sit', () => {
  assert.match(reason([1, { cb: () => 1 }]), 'args[1].cb is a function');
  assert.match(reason([Symbol('s')]), 'args[0] is a symbol');
  class Point {
    constructor(readonly x: number) {}
  }
  assert.match(reason([[new Point(1)]]), 'args[0][0] is an instance of class Point');
  assert.match(reason([Promise.resolve(1)]), 'future or promise');
  assert.match(reason([new WeakMap()]), 'instance of class WeakMap');
  assert.match(reason([new Int32Array(new SharedArrayBuffer(8))]), 'shared memory');
  assert.match(reason([new SharedArrayBuffer(8)]), 'shared memory');
  assert.match(reason([new Map([['k', () => 1]])]), 'args[0].get("k") is a function');
  const throwing = {
    get value(): number {
      throw new Error('not today');
    },
  };
  assert.match(reason([throwing]), 'cannot be read for a key: not today');
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  assert.match(reason([proxy]), 'cannot be read for a key');
  let deep: unknown = 1;
  for (let i = 0; i < 300; i++) deep = [deep];
  assert.match(reason([deep]), 'nested more than 200 levels');
});

test('memo key - ignoreForCache leaves keys of the trailing options object out', () => {
  const kw = (stdout: string) => [1, { stdout, inputs: [2] }];
  assert.is.not(key(kw('a.out'), { kwargsIndex: 1 }), key(kw('b.out'), { kwargsIndex: 1 }));
  assert.is(key(kw('a.out'), { kwargsIndex: 1, ignoreForCache: ['stdout'] }), key(kw('b.out'), { kwargsIndex: 1, ignoreForCache: ['stdout'] }));
  assert.is.not(
    key([1, { stdout: 'a', inputs: [2] }], { kwargsIndex: 1, ignoreForCache: ['stdout'] }),
    key([1, { stdout: 'a', inputs: [3] }], { kwargsIndex: 1, ignoreForCache: ['stdout'] }),
    'other options still count',
  );
  assert.ok(memoKeySync(app, [1, { stdout: () => 1 }], { kwargsIndex: 1, ignoreForCache: ['stdout'] }).ok, 'an ignored value need not be keyable');
  assert.is(key([{ stdout: 'a', x: 1 }], { ignoreForCache: ['stdout'] }) === key([{ stdout: 'b', x: 1 }], { ignoreForCache: ['stdout'] }), false, 'only the options object');
});

test('memo key - Files by URL, or by content with cacheFileContent', async () => {
  const path = join(work.path, 'input.txt');
  writeFileSync(path, 'one');
  const other = join(work.path, 'other.txt');
  writeFileSync(other, 'one');
  const fileHashes = new FileHashCache();
  const byContent: MemoKeyOptions = { cacheFileContent: true, fileHashes };
  assert.is(key([new File(path)]), key([new File(`file://${path}`)]));
  assert.is.not(key([new File(path)]), key([new File(other)]), 'by URL: another path is another key');
  assert.is(key([new File(path)], byContent), key([new File(other)], byContent), 'by content: same bytes, same key');
  const before = key([new File(path)], byContent);
  writeFileSync(path, 'two');
  assert.is.not(key([new File(path)], byContent), before, 'rewritten file, new key');
  const asyncKey = await memoKey(app, [new File(path)], byContent);
  assert.ok(asyncKey.ok);
  assert.is(asyncKey.key, key([new File(path)], byContent), 'memoKey and memoKeySync agree');
  const missing = await memoKey(app, [new File(join(work.path, 'nope'))], byContent);
  assert.ok(!missing.ok && /cannot hash the contents of .*nope/.test(missing.reason), 'a missing input is unkeyable');
  const remote = memoKeySync(app, [new File('https://example.org/data.csv')], byContent);
  assert.ok(!remote.ok && /not a local file/.test(remote.reason));
  assert.ok(memoKeySync(app, [new File('https://example.org/data.csv')]).ok, 'by URL a remote file is fine');
  const withOutputs = (outPath: string) => [new File(path), { outputs: [new File(outPath)] }];
  const out = memoKeySync(app, withOutputs(join(work.path, 'not-yet-written')), { ...byContent, kwargsIndex: 1 });
  assert.ok(out.ok, 'outputs are keyed by URL: they need not exist');
});

test('memo key - file hashes are remembered until the file changes', () => {
  const path = join(work.path, 'cached.txt');
  writeFileSync(path, 'x');
  const cache = new FileHashCache(2);
  const first = cache.hashSync(path);
  assert.is(cache.hashSync(path), first);
  assert.is(cache.size, 1);
  writeFileSync(path, 'y');
  assert.is.not(cache.hashSync(path), first);
  for (const name of ['a', 'b', 'c']) {
    writeFileSync(join(work.path, name), name);
    cache.hashSync(join(work.path, name));
  }
  assert.is(cache.size, 2, 'bounded');
  assert.instance(cache.hashSync(work.path), Error, 'a directory is not hashed');
});

test.run();

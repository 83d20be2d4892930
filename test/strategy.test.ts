import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideScaling, type ScalingSnapshot } from '../src/actors/strategy.ts';

const policy = { minBlocks: 0, maxBlocks: 4, parallelism: 1, maxIdleTimeMs: 1_000 };
const block = (blockId: string, idleSince?: number, registered = true) => ({ blockId, registered, idleSince });
const snap = (outstandingTasks: number, blocks: ScalingSnapshot['blocks'], slotsPerBlock = 2, now = 10_000): ScalingSnapshot => ({
  outstandingTasks,
  blocks,
  slotsPerBlock,
  now,
});

test('strategy - outstanding work with no block gets at least one block', () => {
  assert.equal(decideScaling(snap(1, []), policy), { scaleOut: 1, scaleIn: [] });
  assert.equal(decideScaling(snap(1, []), { ...policy, parallelism: 0 }), { scaleOut: 1, scaleIn: [] });
});

test('strategy - scales out by tasks × parallelism / slots, up to maxBlocks', () => {
  assert.equal(decideScaling(snap(5, [block('0')]), policy), { scaleOut: 2, scaleIn: [] });
  assert.equal(decideScaling(snap(100, [block('0')]), policy), { scaleOut: 3, scaleIn: [] });
  assert.equal(decideScaling(snap(100, [block('0')]), { ...policy, parallelism: 0.05 }), { scaleOut: 2, scaleIn: [] });
});

test('strategy - pending blocks count, so work is not submitted for twice', () => {
  assert.equal(decideScaling(snap(4, [block('0', undefined, false), block('1', undefined, false)]), policy), { scaleOut: 0, scaleIn: [] });
});

test('strategy - idle blocks beyond what the work needs are cancelled after maxIdleTime, most idle first', () => {
  const blocks = [block('0', 9_500), block('1', 5_000), block('2', 8_000)];
  assert.equal(decideScaling(snap(0, blocks), policy), { scaleOut: 0, scaleIn: ['1', '2'] });
  assert.equal(decideScaling(snap(2, blocks), policy), { scaleOut: 0, scaleIn: ['1', '2'] });
});

test('strategy - never below minBlocks, busy and unregistered blocks are kept', () => {
  const blocks = [block('0', 1_000), block('1', undefined), block('2', undefined, false)];
  assert.equal(decideScaling(snap(0, blocks), { ...policy, minBlocks: 1 }), { scaleOut: 0, scaleIn: ['0'] });
  assert.equal(decideScaling(snap(0, [block('0', 1_000)]), { ...policy, minBlocks: 1 }), { scaleOut: 0, scaleIn: [] });
  assert.equal(decideScaling(snap(0, []), { ...policy, minBlocks: 2 }), { scaleOut: 2, scaleIn: [] });
});

test.run();

// Placement of unpinned apps by capacity (src/actors/placement.ts) and the reach of a site
// (src/actors/htex/site-watch.ts): pure policies, tested without a run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HighThroughputExecutor, ThreadPoolExecutor } from '../src/index.ts';
import { Placement } from '../src/actors/placement.ts';
import { SiteWatch, type SiteState } from '../src/actors/htex/site-watch.ts';
import { SiteLost } from '../src/common/errors.ts';

function placement(): Placement {
  return new Placement([new ThreadPoolExecutor({ label: 'threads', maxThreads: 4 }), new HighThroughputExecutor({ label: 'a' }), new HighThroughputExecutor({ label: 'b' })]);
}

test('placement - a pinned app goes where it is pinned, whatever the load', () => {
  const p = placement();
  for (let i = 0; i < 10; i++) p.launched(i, 'a');
  assert.is(p.choose(['a']), 'a');
});

test('placement - unpinned tries fill free slots in proportion to each executor\'s capacity', () => {
  const p = placement();
  p.update('a', 2, true);
  p.update('b', 6, true);
  const counts: Record<string, number> = { a: 0, b: 0 };
  for (let i = 0; i < 80; i++) {
    const label = p.choose(['a', 'b']);
    counts[label]!++;
    p.launched(i, label);
  }
  assert.is(counts.a, 20);
  assert.is(counts.b, 60);
});

test('placement - a slow site keeps its tries and so gets fewer new ones', () => {
  const p = placement();
  p.update('a', 4, true);
  p.update('b', 4, true);
  let next = 0;
  const held: Record<string, number[]> = { a: [], b: [] };
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 4; i++) {
      const label = p.choose(['a', 'b']);
      p.launched(next, label);
      held[label]!.push(next++);
    }
    // a finishes everything it holds each round; b finishes one.
    for (const id of held.a!.splice(0)) p.ended(id);
    const done = held.b!.shift();
    if (done !== undefined) p.ended(done);
  }
  assert.ok(p.loads().a! < p.loads().b!, JSON.stringify(p.loads()));
  assert.ok(held.b!.length <= 8, `b was given little once full: holds ${held.b!.length}`);
});

test('placement - a site out of reach gets nothing while another is in reach; alone, it still gets its pinned work', () => {
  const p = placement();
  p.update('a', 8, false);
  p.update('b', 1, true);
  for (let i = 0; i < 10; i++) assert.is(p.choose(['a', 'b']), 'b');
  assert.ok(p.hasAlternative(['a', 'b'], 'a'));
  assert.not.ok(p.hasAlternative(['a'], 'a'));
  p.update('b', 1, false);
  assert.ok(['a', 'b'].includes(p.choose(['a', 'b'])));
});

test('placement - an ended or retried try no longer loads its executor', () => {
  const p = placement();
  p.launched(1, 'a');
  p.launched(1, 'b'); // retried elsewhere
  assert.equal(p.loads(), { threads: 0, a: 0, b: 1 });
  p.ended(1);
  p.ended(1);
  assert.equal(p.loads(), { threads: 0, a: 0, b: 0 });
});

test('site-watch - up, unreachable after the threshold, lost after siteLostTimeout, up again on any word', () => {
  const seen: SiteState[] = [];
  const watch = new SiteWatch({ executor: 'x', site: 's', unreachableAfterMs: 1_000, lostAfterMs: 5_000, changed: (state) => seen.push(state) });
  const t0 = Date.now();
  watch.check(t0 + 500);
  assert.is(watch.state, 'up');
  watch.check(t0 + 1_500);
  assert.is(watch.state, 'unreachable');
  watch.check(t0 + 5_500);
  assert.is(watch.state, 'lost');
  const error = watch.error(t0 + 6_000);
  assert.instance(error, SiteLost);
  assert.match(error.message, /site 's' of executor 'x' has been out of reach for 6 s/);
  watch.contact();
  assert.is(watch.state, 'up');
  assert.equal(seen, ['unreachable', 'lost', 'up']);
});

test.run();

// The actor lifecycle of src/actors/actor.ts: side effects start in `started`; a restart
// stops the old state (its `stopped('restart')`, finished) before the new state starts; a
// stop calls `stopped('stop')`. And block phases: an illegal change throws IllegalStateError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { start, stop } from 'nact';
import { send, spawnBehaviour, type Behaviour } from '../src/actors/actor.ts';
import { BlockLife } from '../src/actors/htex/block-phase.ts';
import { IllegalStateError } from '../src/common/errors.ts';
import { deadline, waitFor } from './helpers.ts';

type Msg = { type: 'crash' } | { type: 'ping'; reply: (generation: number) => void };

test('actor - a restart stops the old state, and waits for its stop, before the new one starts', async () => {
  const events: string[] = [];
  let generations = 0;
  class Child implements Behaviour<Msg> {
    readonly generation = ++generations;
    constructor() {
      events.push(`construct ${this.generation}`);
    }
    started(): void {
      events.push(`started ${this.generation}`);
    }
    receive(msg: Msg): void {
      if (msg.type === 'crash') throw new Error('boom');
      msg.reply(this.generation);
    }
    async stopped(reason: string): Promise<void> {
      events.push(`stopping ${this.generation} (${reason})`);
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`stopped ${this.generation}`);
    }
  }
  const system = start();
  const parent = spawnBehaviour<never, Behaviour<never>>(system, 'parent', () => ({ receive: () => {} }), {
    onChildCrash: (_child, _error, ctx) => ctx.resetChild as symbol,
  });
  const child = spawnBehaviour<Msg, Child>(parent, 'child', () => new Child());
  send(child, { type: 'crash' });
  const generation = await deadline(new Promise<number>((reply) => send(child, { type: 'ping', reply })));
  assert.is(generation, 2, 'the ping is handled by the new state');
  assert.equal(events, ['construct 1', 'started 1', 'construct 2', 'stopping 1 (restart)', 'stopped 1', 'started 2']);
  stop(parent);
  await deadline(waitFor(() => events.includes('stopped 2'), 'the last state to stop'));
  assert.ok(events.includes('stopping 2 (stop)'));
  stop(system);
});

test('block phases - legal changes pass, an illegal one throws IllegalStateError', () => {
  const life = new BlockLife('7');
  assert.is(life.phase, 'submitting');
  assert.ok(life.live);
  life.to('pending');
  life.to('registered');
  life.to('draining');
  assert.not.ok(life.live, 'a draining block is not live');
  life.to('lost');
  assert.ok(life.ended);
  assert.throws(() => life.to('registered'), (e: unknown) => e instanceof IllegalStateError && /block 7 cannot go from lost to registered/.test((e as Error).message));
  const other = new BlockLife('8');
  assert.throws(() => other.to('draining'), (e: unknown) => e instanceof IllegalStateError);
});

test.run();

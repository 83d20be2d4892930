import { createRequire } from 'node:module';
import type * as Nact from 'nact';
import type { ActorContext, ActorSystemRef, Ref, SupervisionContext } from 'nact';

let loaded: typeof Nact | undefined;

/**
 * nact, required when the first actor system starts rather than at `import 'parsl-ts'`
 * (~30 ms of module loading that a script pays before it has even called `load()`).
 */
function nact(): typeof Nact {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  /**
   * nact 7.6 stops an actor's children after detaching the actor from its parent, so it can no
   * longer find them: they are never stopped and their stop hooks never run (stopping the DFK
   * left its executor managers' hooks unrun). Stop them first, as its own docs say it does.
   */
  const { Actor: NactActor } = require('nact/lib/actor.js') as {
    Actor: { prototype: { stop(this: { children: Map<string, { stop(): void }> }): void } };
  };
  const nactStop = NactActor.prototype.stop;
  NactActor.prototype.stop = function stopChildrenFirst(this: { children: Map<string, { stop(): void }> }) {
    for (const child of [...this.children.values()]) child.stop();
    nactStop.call(this);
  };
  loaded = require('nact') as typeof Nact;
  return loaded;
}

/** A new actor system (nact's `start`). */
export function startActorSystem(): ActorSystemRef {
  return nact().start();
}

/** Stops an actor or a whole system (nact's `stop`). */
export function stopActor(ref: Ref<any>): void {
  nact().stop(ref);
}

export type { Ref } from 'nact';

/**
 * The state of an actor: a class whose `receive` handles one message at a time.
 *
 * Lifecycle: the constructor only stores what it is given; side effects (timers, connections,
 * processes, jobs) begin in `started` and end in `stopped`. A supervisor's restart (nact's
 * reset) makes a new state; the old state's `stopped` runs first and the new state's
 * `started` only after it has finished (or after `STOP_TIMEOUT_MS`), so the two never hold
 * the same resources at once. nact itself does not do this: its reset drops the old state
 * without a word, which leaked a restarted HTEX manager's NATS connection, server and ticker.
 */
export interface Behaviour<Msg> {
  receive(msg: Msg, ctx: ActorContext<Msg, Ref<any>>): void | Promise<void>;
  /**
   * Called once, after the constructor (and, on a restart, after the previous state's
   * `stopped`) and before the first message is handled: start side effects here.
   */
  started?(ctx: ActorContext<Msg, Ref<any>>): void;
  /**
   * Called once when this state ends: the actor stops (its children are stopped first), or
   * its supervisor restarts it (`reason` is 'restart'; its children are stopped as well).
   * Releases everything the state holds and settles what is pending: the one place for that.
   */
  stopped?(reason: StopReason): void | Promise<void>;
}

/** Why a state's `stopped` hook runs. */
export type StopReason = 'stop' | 'restart';

/** A restart waits at most this long for the old state's `stopped` before starting the new one. */
export const STOP_TIMEOUT_MS = 15_000;

/** What a supervisor decides about a child that crashed, in nact's terms. */
export type SupervisionDecision = SupervisionContext<unknown, Ref<any>>['stop'];

export interface SpawnOptions<Msg> {
  /**
   * Decides what happens when this actor's `receive` throws. The default escalates to the
   * parent, whose own `onChildCrash` decides (restart the child, stop it…).
   */
  onCrash?: (msg: Msg | undefined, error: Error | undefined, ctx: SupervisionContext<Msg, Ref<any>>) => symbol;
  /** Decides for a child of this actor that escalated a crash. */
  onChildCrash?: (child: Ref<unknown>, error: Error | undefined, ctx: SupervisionContext<Msg, Ref<any>>) => symbol;
}

/** Runs a state's `stopped` hook, never throwing; resolves when it has finished or after `STOP_TIMEOUT_MS`. */
function stopState(state: Behaviour<never> | undefined, reason: StopReason, name: string): Promise<void> {
  if (!state?.stopped) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const stopping = (async () => state.stopped!(reason))().catch((error: unknown) => {
    process.emitWarning(`actor ${name}: its stop hook failed: ${(error as Error)?.message ?? String(error)}`);
  });
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      process.emitWarning(`actor ${name}: its stop hook did not finish within ${STOP_TIMEOUT_MS} ms; starting anyway`);
      resolve();
    }, STOP_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([stopping, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Spawns an actor whose state is a `Behaviour` made by `init` (and made again by `init` when
 * its supervisor restarts it). Messages are handled one at a time, in order, each after the
 * current state has started.
 */
export function spawnBehaviour<Msg, B extends Behaviour<Msg>>(
  parent: Ref<any>,
  name: string,
  init: (ctx: ActorContext<Msg, Ref<any>>) => B,
  options: SpawnOptions<Msg> = {},
): Ref<Msg> {
  /** The state now in charge: nact's reset does not hand us the old one, so it is kept here. */
  let current: B | undefined;
  /** Resolves once the current state has started (after its predecessor stopped). */
  let ready: Promise<void> = Promise.resolve();
  return nact().spawn(
    parent,
    async (state: B, msg: Msg, ctx: ActorContext<Msg, Ref<any>>) => {
      await ready;
      await state.receive(msg, ctx);
      return state;
    },
    name,
    {
      initialStateFunc: (ctx: ActorContext<Msg, Ref<any>>) => {
        const previous = current;
        const state = init(ctx);
        current = state;
        if (previous === undefined) {
          state.started?.(ctx);
        } else {
          // A start hook that throws fails the next message, which the supervisor then handles.
          ready = stopState(previous as Behaviour<never>, 'restart', name).then(() => state.started?.(ctx));
          ready.catch(() => {});
        }
        return state;
      },
      afterStop: (state: B) => {
        void ready.catch(() => {}).then(() => stopState(state as Behaviour<never>, 'stop', name));
      },
      onCrash: (msg, error, ctx, child) => {
        if (child !== undefined) {
          return (options.onChildCrash?.(child, error, ctx as SupervisionContext<Msg, Ref<any>>) ?? ctx.stopChild) as symbol;
        }
        return (options.onCrash?.(msg as Msg | undefined, error, ctx as SupervisionContext<Msg, Ref<any>>) ??
          ctx.escalate) as symbol;
      },
    },
  );
}

/** Sends a message to an actor (fire and forget). */
export function send<Msg>(ref: Ref<Msg>, msg: Msg): void {
  nact().dispatch(ref, msg);
}

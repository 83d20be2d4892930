import { dispatch, spawn, type ActorContext, type Ref, type SupervisionContext } from 'nact';

export type { Ref } from 'nact';

/** The state of an actor: a class whose `receive` handles one message at a time. */
export interface Behaviour<Msg> {
  receive(msg: Msg, ctx: ActorContext<Msg, Ref<any>>): void | Promise<void>;
  /** Called once when the actor stops (its children are stopped first). */
  stopped?(): void;
}

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

/**
 * Spawns an actor whose state is a `Behaviour` made by `init` (and made again by `init` when
 * its supervisor resets it). Messages are handled one at a time, in order.
 */
export function spawnBehaviour<Msg, B extends Behaviour<Msg>>(
  parent: Ref<any>,
  name: string,
  init: (ctx: ActorContext<Msg, Ref<any>>) => B,
  options: SpawnOptions<Msg> = {},
): Ref<Msg> {
  return spawn(
    parent,
    async (state: B, msg: Msg, ctx: ActorContext<Msg, Ref<any>>) => {
      await state.receive(msg, ctx);
      return state;
    },
    name,
    {
      initialStateFunc: init,
      afterStop: (state: B) => state?.stopped?.(),
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
  dispatch(ref, msg);
}

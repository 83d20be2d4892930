/**
 * The HTEX manager actor, with its module (the NATS and JetStream clients, the block manager's
 * wire protocol: ~200 ms of loading) imported when a Config first uses an HTEX executor
 * rather than when parsl-ts is imported. The actor is the HTEX manager itself, named by the
 * executor's label and supervised as before: its state is made once the module is in, and
 * messages that come earlier wait for it in order (nact hands over the next message only
 * when `receive` settles).
 */
import { spawnBehaviour, type Behaviour, type Ref } from './actor.ts';
import type { FromExecutor, ToExecutor } from './messages.ts';
import type { ExecutorContext } from './executor-managers.ts';
import type * as HtexModuleNamespace from './executor-htex.ts';
import type { HtexManager, ToHtex } from './executor-htex.ts';
import type { ResolvedHighThroughputExecutorOptions } from '../executors/htex.ts';
import type { ServerWithLogin } from './htex/embedded-server.ts';
import { join } from 'node:path';
import { startupMark } from '../common/startup-trace.ts';

type HtexModule = typeof HtexModuleNamespace;

let loaded: HtexModule | undefined;

/**
 * Hands over the module when the caller has it loaded already (internal.ts, which tests and
 * tools import): managers are then made at once, and can be looked up right after load().
 */
export function provideHtexModule(module: HtexModule): void {
  loaded = module;
}

class LazyHtexManager implements Behaviour<ToHtex> {
  readonly #make: (module: HtexModule, early?: Promise<ServerWithLogin>) => HtexManager;
  #manager: Promise<HtexManager | undefined> = Promise.resolve(undefined);
  #ready: HtexManager | undefined;

  readonly #startServerAhead: (() => Promise<ServerWithLogin>) | undefined;

  constructor(self: Ref<ToHtex>, dfk: Ref<FromExecutor>, options: ResolvedHighThroughputExecutorOptions, context: ExecutorContext) {
    this.#make = (module, early) => new module.HtexManager(self, dfk, options, context, early);
    // A new run's own server (not a site's hub, not a resumed run's, which starts where the one
    // before was) needs nothing of the manager's module: it starts while that module loads.
    if (options.nats.servers === undefined && options.site === undefined && !context.resumed) {
      const storeDir = join(context.run.nats, options.label);
      this.#startServerAhead = () => import('./htex/embedded-server.ts').then((module) => module.startNewRunServer(storeDir));
    }
  }

  /** Makes and starts the manager: at once if its module is in, else once it is. */
  started(): void {
    if (loaded) {
      this.#ready = this.#make(loaded);
      this.#ready.started();
      this.#manager = Promise.resolve(this.#ready);
      return;
    }
    startupMark('htex chunk: import');
    const early = this.#startServerAhead?.();
    // Rejected, it fails the manager's start (nats-setup.ts); not also an unhandled rejection.
    early?.catch(() => {});
    this.#manager = import('./executor-htex.ts').then((module) => {
      startupMark('htex chunk: loaded');
      loaded = module;
      this.#ready = this.#make(module, early);
      this.#ready.started();
      return this.#ready;
    });
    // A failed import crashes the actor at its first message, not as an unhandled rejection;
    // the server started ahead for it is stopped.
    this.#manager.catch(() => early?.then(({ server }) => server.stop(), () => {}));
  }

  receive(msg: ToHtex): void | Promise<void> {
    if (this.#ready) return this.#ready.receive(msg);
    return this.#manager.then((manager) => manager?.receive(msg));
  }

  stopped(): Promise<void> {
    return this.#manager.then(
      (manager) => manager?.stopped(),
      () => {},
    );
  }
}

/** Spawns the manager of a `HighThroughputExecutor` under the DFK supervisor. */
export function spawnLazyHtexManager(
  parent: Ref<unknown>,
  dfk: Ref<FromExecutor>,
  options: ResolvedHighThroughputExecutorOptions,
  context: ExecutorContext,
): Ref<ToExecutor> {
  return spawnBehaviour<ToHtex, LazyHtexManager>(parent, options.label, (ctx) => new LazyHtexManager(ctx.self, dfk, options, context), {
    onChildCrash: (child, error, ctx) => {
      // A crashed block actor: restarted, unless it keeps crashing (the manager decides).
      const decision = loaded?.htexManagers.get(ctx.self)?.blockActorCrashed(child, error) ?? 'restart';
      return (decision === 'restart' ? ctx.resetChild : ctx.stopChild) as symbol;
    },
  }) as Ref<ToExecutor>;
}

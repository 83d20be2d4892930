import { spawnBehaviour, send, type Behaviour, type Ref } from './actor.ts';

/** What the strategy sees of one executor at one moment. */
export interface ScalingSnapshot {
  /** Tasks handed to the executor and not yet finished. */
  outstandingTasks: number;
  /** Blocks submitted and not lost or cancelled. */
  blocks: Array<{
    blockId: string;
    registered: boolean;
    /** When it last became idle (no task in flight); undefined while busy or not registered. */
    idleSince: number | undefined;
  }>;
  /** Tasks one block runs at once (workers per node × nodes per block), or a guess before any registered. */
  slotsPerBlock: number;
  now: number;
}

/** The provider's limits, and how eagerly to scale. */
export interface ScalingPolicy {
  minBlocks: number;
  maxBlocks: number;
  /** Blocks wanted per task slot of outstanding work, between 0 and 1 (Parsl's `parallelism`). */
  parallelism: number;
  maxIdleTimeMs: number;
}

export interface ScalingDecision {
  /** Blocks to submit. */
  scaleOut: number;
  /** Blocks to cancel, most idle first. */
  scaleIn: string[];
}

/**
 * Parsl's simple strategy, as a pure function: enough blocks for the outstanding work
 * (`ceil(tasks × parallelism / slotsPerBlock)`, at least one while there is any), never more
 * than `maxBlocks` nor fewer than `minBlocks`; blocks idle longer than `maxIdleTime` are
 * cancelled when there are more than the work needs.
 */
export function decideScaling(snapshot: ScalingSnapshot, policy: ScalingPolicy): ScalingDecision {
  const live = snapshot.blocks.length;
  const tasks = snapshot.outstandingTasks;
  let wanted = Math.ceil((tasks * policy.parallelism) / Math.max(1, snapshot.slotsPerBlock));
  if (tasks > 0) wanted = Math.max(wanted, 1);
  wanted = Math.min(policy.maxBlocks, Math.max(policy.minBlocks, wanted));
  if (wanted > live) return { scaleOut: wanted - live, scaleIn: [] };
  if (wanted === live) return { scaleOut: 0, scaleIn: [] };
  const idle = snapshot.blocks
    .filter((b) => b.registered && b.idleSince !== undefined && snapshot.now - b.idleSince >= policy.maxIdleTimeMs)
    .sort((a, b) => a.idleSince! - b.idleSince!)
    .slice(0, live - wanted)
    .map((b) => b.blockId);
  return { scaleOut: 0, scaleIn: idle };
}

/** Messages of the strategy actor. */
export type ToStrategy = { type: 'tick' } | { type: 'snapshot'; snapshot: ScalingSnapshot };

/** What the strategy asks of, and tells, its executor manager. */
export type FromStrategy = { type: 'snapshot-request'; replyTo: Ref<ToStrategy> } | { type: 'scale'; decision: ScalingDecision };

export interface StrategyOptions {
  manager: Ref<FromStrategy>;
  policy: ScalingPolicy;
  periodMs: number;
}

/** The strategy actor of one executor: every period, asks for a snapshot and sends back a decision. */
class StrategyActor implements Behaviour<ToStrategy> {
  readonly #self: Ref<ToStrategy>;
  readonly #options: StrategyOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(self: Ref<ToStrategy>, options: StrategyOptions) {
    this.#self = self;
    this.#options = options;
  }

  started(): void {
    this.#timer = setInterval(() => send(this.#self, { type: 'tick' }), this.#options.periodMs);
    this.#timer.unref();
  }

  receive(msg: ToStrategy): void {
    if (msg.type === 'tick') {
      send(this.#options.manager, { type: 'snapshot-request', replyTo: this.#self });
      return;
    }
    const decision = decideScaling(msg.snapshot, this.#options.policy);
    if (decision.scaleOut > 0 || decision.scaleIn.length > 0) send(this.#options.manager, { type: 'scale', decision });
  }

  stopped(): void {
    clearInterval(this.#timer);
  }
}

export function spawnStrategy(parent: Ref<unknown>, options: StrategyOptions): Ref<ToStrategy> {
  return spawnBehaviour<ToStrategy, StrategyActor>(parent, 'strategy', (ctx) => new StrategyActor(ctx.self, options));
}

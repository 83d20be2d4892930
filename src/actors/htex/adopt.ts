/**
 * HTEX adoption: how a resumed driver takes over the tries that the driver before it left on
 * blocks (Deliver 4 of the campaigns issue).
 *
 * While it runs, the manager keeps two files in its store folder (`<run dir>/nats/<label>/`):
 * - `htex.json`: the run id its subjects and streams are named after, the embedded server's port,
 *   login and pid, and every block id it has started. A resumed driver restarts the server on
 *   that port, with that login and the same JetStream store, so that the blocks that outlived
 *   their driver reconnect (their client redials forever) and find the same subjects.
 * - `tries.log`: one line per published try of a cached call, `<taskId> <attempt> <memoKey>`,
 *   `H <taskId> <attempt> <blockId>` when a block is known to hold one, and `R <taskId> <attempt>`
 *   when its result was committed. Appended as the run goes (a kill -9 loses at most a torn
 *   last line, which is skipped), and rewritten with only the tries still unreported when a
 *   resumed driver opens it and whenever it has grown by `COMPACT_AFTER_BYTES`: written aside
 *   and renamed, so a kill mid-rewrite leaves the old journal whole. A campaign's journal stays
 *   the size of its tries in flight, not of every try it ever ran.
 *
 * A resumed driver reads both at start. Its calls come with new task ids (dataflow/task-ids.ts),
 * so a result that carries an id of the journal is the result of an earlier driver's try. A
 * call whose memo key matches such a try is not published: it waits for that try's result, which
 * comes from a block that kept running, or is already waiting in the results stream. The
 * waiting ends, and the call is published anew, when the block known to hold the try has been
 * silent for the heartbeat threshold, or when no block is known to hold it and nothing is left
 * in the work queue or the results stream (its result was read by the driver that died before it
 * reached the checkpoint, or it never left). Blocks of earlier drivers are told to drain: they
 * finish what they hold and exit, and the resumed driver's own blocks take the new work.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WireOutcome } from '../../wire/protocol.ts';
import type { ExecTask } from '../messages.ts';

export const STATE_FILE = 'htex.json';
export const JOURNAL_FILE = 'tries.log';
/** Bytes appended to the journal after which it is rewritten with only the unreported tries. */
export const COMPACT_AFTER_BYTES = 4 * 1024 * 1024;

/** What a resumed driver needs to take the run's NATS side over. */
export interface HtexRunState {
  runId: string;
  port: number;
  user: string;
  password: string;
  /** The embedded server's pid: a resumed driver waits for it to be gone before it restarts the server. */
  serverPid: number | undefined;
  /** Every block id started in this run directory, by any of its drivers. */
  blocks: string[];
}

/** Reads the state an earlier driver left in `dir`; undefined when there is none or it is unreadable. */
export function readRunState(dir: string): HtexRunState | undefined {
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as HtexRunState;
    if (typeof state.runId !== 'string' || typeof state.port !== 'number' || typeof state.password !== 'string' || !Array.isArray(state.blocks)) {
      throw new Error('fields missing');
    }
    return state;
  } catch (error) {
    process.emitWarning(`${file} is not usable (${(error as Error).message}): the blocks of the run before are not adopted`, { code: 'PARSL_TS_RESUME' });
    return undefined;
  }
}

/** Writes the state aside and renames it (a kill mid-write leaves the old one); readable by its owner only: it holds the login. */
export function writeRunState(dir: string, state: HtexRunState): void {
  const file = join(dir, STATE_FILE);
  writeFileSync(`${file}.${process.pid}`, JSON.stringify(state), { mode: 0o600 });
  renameSync(`${file}.${process.pid}`, file);
}

interface OldTry {
  taskId: number;
  attempt: number;
  key: string;
  /** The block known to hold it. */
  holder: string | undefined;
}

/** What `take` decides for a batch of tries. */
export interface Taken {
  /** Tries to publish. */
  publish: ExecTask[];
  /** Outcomes already known (the earlier try's result arrived before the call). */
  outcomes: WireOutcome[];
}

/** The journal of tries and the tries of earlier drivers still to be adopted. */
export class Adoption {
  readonly #journal: string;
  /** Earlier drivers' tries not yet reported, by memo key (the latest try of each key). */
  readonly #byKey = new Map<string, OldTry>();
  /** The same, by task id. */
  readonly #byTask = new Map<number, OldTry>();
  /** Results of earlier tries that came before their call, by memo key. */
  readonly #results = new Map<string, WireOutcome>();
  /** Calls waiting for an earlier try's result, by memo key. */
  readonly #waiting = new Map<string, ExecTask>();
  /** Blocks of earlier drivers: when each was last heard (or when adoption began). */
  readonly #oldBlocks = new Map<string, number>();
  /** Blocks of earlier drivers already told to drain. */
  readonly #drained = new Set<string>();
  readonly #startedAt = Date.now();
  readonly #thresholdMs: number;
  /** This driver's published tries of cached calls not yet committed, by task id (what a rewrite keeps). */
  readonly #live = new Map<number, OldTry>();
  /** Task ids of the earlier drivers' unreported tries: their results are journalled when committed, even after adoption forgot them. */
  readonly #oldIds = new Set<number>();
  #pending: string[] = [];
  /** Bytes appended since the journal was last written whole. */
  #appended = 0;
  /** Journal size at which the next rewrite is due. */
  #compactAt = COMPACT_AFTER_BYTES;

  /** Opens the journal in `dir`; `resumed` reads what earlier drivers left to adopt. */
  constructor(dir: string, resumed: boolean, oldBlocks: readonly string[], thresholdMs: number) {
    this.#journal = join(dir, JOURNAL_FILE);
    this.#thresholdMs = thresholdMs;
    // Also with an external NATS server, where no store is made in it.
    mkdirSync(dir, { recursive: true });
    if (!resumed) return;
    for (const blockId of oldBlocks) this.#oldBlocks.set(blockId, this.#startedAt);
    if (!existsSync(this.#journal)) return;
    for (const line of readFileSync(this.#journal, 'utf8').split('\n')) {
      const reported = /^R (\d+) (\d+)$/.exec(line);
      if (reported) {
        const old = this.#byTask.get(Number(reported[1]));
        if (old && old.attempt === Number(reported[2])) this.#forget(old);
        continue;
      }
      const held = /^H (\d+) (\d+) (\S+)$/.exec(line);
      if (held) {
        const old = this.#byTask.get(Number(held[1]));
        if (old && old.attempt === Number(held[2])) old.holder = held[3];
        continue;
      }
      const tried = /^(\d+) (\d+) ([0-9a-f]{64})$/.exec(line);
      if (!tried) continue; // a torn last line
      const old: OldTry = { taskId: Number(tried[1]), attempt: Number(tried[2]), key: tried[3]!, holder: undefined };
      const before = this.#byKey.get(old.key);
      if (before) this.#byTask.delete(before.taskId);
      this.#byKey.set(old.key, old);
      this.#byTask.set(old.taskId, old);
    }
    for (const taskId of this.#byTask.keys()) this.#oldIds.add(taskId);
    this.#compact(); // what the drivers before left, without what they finished
  }

  /** Tries of earlier drivers still expected. */
  get expected(): number {
    return this.#byKey.size;
  }

  /** Calls waiting for an earlier try. */
  get adopted(): number {
    return this.#waiting.size;
  }

  /**
   * Whether a try of an earlier driver is to run on `asker`: still expected (journalled, not
   * reported), and not held by another block that is alive (one of ours, `live`, or an earlier
   * driver's heard within the threshold).
   */
  isWanted(taskId: number, attempt: number, asker: string, live: (blockId: string) => boolean): boolean {
    const old = this.#byTask.get(taskId);
    if (old?.attempt !== attempt) return false;
    const holder = old.holder;
    if (holder === undefined || holder === asker) return true;
    const heard = this.#oldBlocks.get(holder);
    return !(live(holder) || (heard !== undefined && Date.now() - heard <= this.#thresholdMs));
  }

  /** Whether `blockId` was started by an earlier driver. */
  isOldBlock(blockId: string): boolean {
    return this.#oldBlocks.has(blockId);
  }

  /**
   * Tries about to be published: those whose call an earlier try is computing are held back
   * (or answered, when its result is here already); the rest are journalled and published.
   */
  take(tasks: ExecTask[]): Taken {
    const publish: ExecTask[] = [];
    const outcomes: WireOutcome[] = [];
    for (const task of tasks) {
      const key = task.memoKey;
      const old = key === undefined ? undefined : this.#byKey.get(key);
      // A second identical call while the first waits for the earlier try runs on its own.
      if (key !== undefined && old && !this.#waiting.has(key)) {
        const result = this.#results.get(key);
        if (result) {
          this.#forget(old);
          this.#results.delete(key);
          outcomes.push({ ...result, taskId: task.taskId, attempt: task.attempt });
        } else {
          this.#waiting.set(key, task);
        }
        continue;
      }
      publish.push(task);
      if (key === undefined) continue; // an uncached call: nothing to adopt, nothing to journal
      this.#live.set(task.taskId, { taskId: task.taskId, attempt: task.attempt, key, holder: undefined });
      this.#pending.push(`${task.taskId} ${task.attempt} ${key}\n`);
    }
    this.#flush();
    return { publish, outcomes };
  }

  /** Blocks took these tries (claimed from the queue, or taken straight): journalled, and noted for earlier tries. */
  held(blockId: string, tries: Iterable<{ taskId: number; attempt: number }>): void {
    for (const { taskId, attempt } of tries) {
      const known = this.#byTask.get(taskId) ?? this.#live.get(taskId);
      if (known?.attempt !== attempt) continue; // not a cached call's try, or an older try
      known.holder = blockId;
      this.#pending.push(`H ${taskId} ${attempt} ${blockId}\n`);
    }
    this.#flush();
  }

  /**
   * Results from blocks: those of earlier tries are taken here (given to the call waiting for
   * them, or kept for the call to come); returns what goes on to the DFK as it is (with the
   * adopted calls' outcomes), and how many were kept. Nothing is journalled here: `committed`
   * does that once the DFK has committed them (let-go.ts).
   */
  reported(outcomes: WireOutcome[]): { forward: WireOutcome[]; kept: number } {
    if (this.#byTask.size === 0) return { forward: outcomes, kept: 0 };
    const forward: WireOutcome[] = [];
    let kept = 0;
    for (const outcome of outcomes) {
      const old = this.#byTask.get(outcome.taskId);
      if (!old) {
        forward.push(outcome);
        continue;
      }
      if (old.attempt !== outcome.attempt) continue; // an older try of it
      const waiting = this.#waiting.get(old.key);
      if (waiting) {
        this.#forget(old);
        forward.push({ ...outcome, taskId: waiting.taskId, attempt: waiting.attempt });
      } else {
        this.#results.set(old.key, outcome);
        kept++;
      }
    }
    return { forward, kept };
  }

  /** These tries' results are committed (or need no commit): journalled, so a resumed run knows they need not run again (`isWanted`). */
  committed(outcomes: Iterable<{ taskId: number; attempt: number }>): void {
    for (const { taskId, attempt } of outcomes) {
      if (this.#live.get(taskId)?.attempt === attempt) this.#live.delete(taskId);
      else if (!this.#oldIds.delete(taskId)) continue; // an uncached call's try: never journalled
      this.#pending.push(`R ${taskId} ${attempt}\n`);
    }
    this.#flush();
  }

  /** A block of an earlier driver beat: returns true the first time, when it is to be told to drain. */
  heartbeat(blockId: string): boolean {
    this.#oldBlocks.set(blockId, Date.now());
    if (this.#drained.has(blockId)) return false;
    this.#drained.add(blockId);
    return true;
  }

  /**
   * The calls to publish after all: their try's block has been silent for the threshold, or no
   * block is known to hold it and `queuesEmpty` (nothing in the work queue, nothing unread in
   * the results stream).
   */
  givenUp(queuesEmpty: boolean, live: (blockId: string) => boolean): ExecTask[] {
    const now = Date.now();
    const given: ExecTask[] = [];
    for (const [key, task] of this.#waiting) {
      const old = this.#byKey.get(key)!;
      if (old.holder !== undefined && live(old.holder)) continue; // one of ours has it
      const heard = old.holder === undefined ? undefined : (this.#oldBlocks.get(old.holder) ?? this.#startedAt);
      const lost = heard === undefined ? queuesEmpty : now - heard > this.#thresholdMs;
      if (!lost) continue;
      this.#forget(old);
      given.push(task);
    }
    return given;
  }

  #forget(old: OldTry): void {
    this.#byKey.delete(old.key);
    this.#byTask.delete(old.taskId);
    this.#waiting.delete(old.key);
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const lines = this.#pending.join('');
    this.#pending = [];
    try {
      appendFileSync(this.#journal, lines);
    } catch (error) {
      process.emitWarning(`${this.#journal}: ${(error as Error).message}; a resumed run may run these tries again`, { code: 'PARSL_TS_RESUME' });
    }
    this.#appended += lines.length;
    if (this.#appended >= this.#compactAt) this.#compact();
  }

  /** Rewrites the journal with the tries still unreported: the earlier drivers' and this one's. */
  #compact(): void {
    const lines: string[] = [];
    for (const tries of [this.#byKey.values(), this.#live.values()]) {
      for (const { taskId, attempt, key, holder } of tries) {
        lines.push(`${taskId} ${attempt} ${key}\n`);
        if (holder !== undefined) lines.push(`H ${taskId} ${attempt} ${holder}\n`);
      }
    }
    const text = lines.join('');
    const aside = `${this.#journal}.${process.pid}`;
    try {
      writeFileSync(aside, text);
      renameSync(aside, this.#journal);
    } catch (error) {
      process.emitWarning(`${this.#journal}: not rewritten (${(error as Error).message}); it goes on growing`, { code: 'PARSL_TS_RESUME' });
    }
    this.#appended = 0;
    // With many tries in flight a rewrite frees little: wait until the appends outgrow it.
    this.#compactAt = Math.max(COMPACT_AFTER_BYTES, text.length);
  }
}

/** Contexts whose run state a manager has taken: only the first manager state of a resumed run adopts. */
const taken = new WeakSet<object>();

/**
 * The state an earlier driver left, for the first manager of a resumed run (`context.resumed`);
 * undefined otherwise: a manager restarted after a crash starts afresh, as it always has.
 */
export function takeRunState(context: { resumed?: boolean | undefined }, dir: string): HtexRunState | undefined {
  if (!context.resumed || taken.has(context)) return undefined;
  taken.add(context);
  return readRunState(dir);
}

/** The number of the next block: after every block id of the run's earlier drivers. */
export function nextBlockNumber(blocks: readonly string[]): number {
  let next = 0;
  for (const id of blocks) if (/^\d+$/.test(id)) next = Math.max(next, Number(id) + 1);
  return next;
}

import { createLogUpdate } from 'log-update';

/**
 * One live line in the terminal while a run goes: done, running, pending, failed, the rate
 * of finished tasks and the time left at that rate. Drawn with log-update (which rewrites
 * the line in place), at most `maxRedrawsPerSecond` times a second however often counts
 * change: the last change of a burst is drawn when the interval ends. When the stream is not
 * a terminal (a pipe, a file, CI) nothing is written at all.
 */

export interface ProgressCounts {
  done: number;
  running: number;
  pending: number;
  failed: number;
}

export interface ProgressLineOptions {
  /** @default process.stdout */
  stream?: NodeJS.WriteStream;
  /** @default 4 */
  maxRedrawsPerSecond?: number;
  /** @default stream.isTTY */
  enabled?: boolean;
  /** The clock (ms), for tests. @default performance.now */
  now?: () => number;
  /** The rate is measured over this window (ms). @default 10000 */
  rateWindowMs?: number;
}

export class ProgressLine {
  readonly enabled: boolean;
  readonly #stream: NodeJS.WriteStream;
  readonly #log: ReturnType<typeof createLogUpdate> | undefined;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #windowMs: number;
  /** [time, finished] samples within the rate window. */
  readonly #samples: [number, number][] = [];
  #counts: ProgressCounts = { done: 0, running: 0, pending: 0, failed: 0 };
  #lastDraw = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** How many times the line was drawn (for tests and the benchmark). */
  draws = 0;

  constructor(options: ProgressLineOptions = {}) {
    this.#stream = options.stream ?? process.stdout;
    this.enabled = options.enabled ?? this.#stream.isTTY === true;
    this.#intervalMs = 1000 / (options.maxRedrawsPerSecond ?? 4);
    this.#now = options.now ?? (() => performance.now());
    this.#windowMs = options.rateWindowMs ?? 10_000;
    // A terminal that reports no size (0 rows: a pty whose size was never set, as under
    // `script` in CI) would make log-update cut every line away: count it as 80x24.
    const stream = this.#stream;
    const sized = {
      write: (chunk: string) => stream.write(chunk),
      get columns() {
        return stream.columns || 80;
      },
      get rows() {
        return stream.rows || 24;
      },
    } as unknown as NodeJS.WriteStream;
    if (this.enabled) this.#log = createLogUpdate(sized, { showCursor: true });
  }

  /** New counts; drawn now if the last draw is old enough, else when the interval ends. */
  update(counts: ProgressCounts): void {
    if (!this.enabled || this.#closed) return;
    this.#counts = { ...counts };
    const now = this.#now();
    this.#samples.push([now, counts.done + counts.failed]);
    while (this.#samples.length > 2 && this.#samples[0]![0] < now - this.#windowMs) this.#samples.shift();
    const wait = this.#lastDraw + this.#intervalMs - now;
    if (wait <= 0) this.#draw();
    else this.#timer ??= setTimeout(() => this.#draw(), wait).unref();
  }

  /** The line as it would be drawn for the counts given last. */
  render(): string {
    const c = this.#counts;
    const rate = this.#rate();
    const left = c.running + c.pending;
    const eta = rate > 0 && left > 0 ? ` · ETA ${duration(left / rate)}` : '';
    const line =
      `${c.done} done · ${c.running} running · ${c.pending} pending · ${c.failed} failed` +
      ` · ${rate >= 100 ? rate.toFixed(0) : rate.toFixed(1)} tasks/s${eta}`;
    const width = this.#stream.columns || 80;
    return width && line.length >= width ? `${line.slice(0, Math.max(0, width - 2))}…` : line;
  }

  #rate(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last[0] <= first[0]) return 0;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }

  #draw(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    this.#lastDraw = this.#now();
    this.draws++;
    this.#log!(this.render());
  }

  /** Draws the last counts and leaves the line in the terminal. */
  close(): void {
    if (!this.enabled || this.#closed) return;
    this.#draw();
    this.#closed = true;
    this.#log!.done();
  }
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

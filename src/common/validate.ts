import { inspect } from 'node:util';
import { lazySchema, z } from './zod.ts';
import { ConfigError } from './errors.ts';

/**
 * Parses user options with a zod schema. A failure throws one `ConfigError` that names each
 * offending option by its path, says what was expected and shows what was given.
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, root: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = formatPath(root, issue.path);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => `'${k}'`).join(', ');
      return `${path}: unknown option${issue.keys.length > 1 ? 's' : ''} ${keys}`;
    }
    const given = valueAt(input, issue.path);
    const shown = given.found ? inspect(given.value, { depth: 1, breakLength: Infinity }) : 'nothing';
    return `${path}: ${issue.message}; got ${shown}`;
  });
  const first = parsed.error.issues[0];
  if (problems.length === 1 && first) {
    throw new ConfigError(formatPath(root, first.path), problems[0]!.slice(formatPath(root, first.path).length + 2));
  }
  throw new ConfigError(root, `${problems.length} problems:\n  ${problems.join('\n  ')}`);
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): { found: boolean; value?: unknown } {
  let current: unknown = input;
  for (const part of path) {
    if (current === null || typeof current !== 'object' || !(part in (current as object))) return { found: false };
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return { found: true, value: current };
}

/** A duration: milliseconds as a number, or a string such as `'500ms'`, `'30s'`, `'2m'`, `'1h'`. */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') return value;
  // Parsl's checkpoint_period form: 'HH:MM:SS'.
  const clock = /^\s*(\d+):([0-5]\d):([0-5]\d)\s*$/.exec(value);
  if (clock) return ((Number(clock[1]) * 60 + Number(clock[2])) * 60 + Number(clock[3])) * 1000;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) return Number.NaN;
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * scale;
}

/** Schema of a duration option: positive milliseconds, or a string with a unit. */
export const durationSchema = lazySchema(() =>
  z
    .union([z.number(), z.string()])
    .transform((value) => parseDuration(value))
    .refine((ms) => Number.isFinite(ms) && ms > 0, {
      message: "expected a positive duration: milliseconds as a number, or a string such as '30s', '5m', '500ms'",
    }),
);

/** The shortest period a heartbeat, a strategy or a drain may have. */
export const MIN_PERIOD_MS = 100;

/**
 * Schema of a period that a timer keeps (heartbeats, the strategy, draining): a duration of at
 * least `MIN_PERIOD_MS`. Parsl's periods are seconds; ours are milliseconds, so a `1` written
 * to mean a second is refused here rather than run as a storm of 1 ms ticks.
 */
export const periodSchema = lazySchema(() =>
  durationSchema.refine((ms) => !(ms > 0) || ms >= MIN_PERIOD_MS, {
    message:
      `must be at least ${MIN_PERIOD_MS} ms: durations are milliseconds (a number) or strings with a unit, ` +
      "so write '1s' for one second",
    // Stop here: rules that compare periods (a threshold longer than its period) would only add noise.
    abort: true,
  }),
);

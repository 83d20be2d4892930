/**
 * The short, printable forms of a call that the monitoring database keeps: the arguments'
 * summary (`task.task_args_summary`, shown on a task's page) and the `inputs` list (Parsl's
 * `task.task_inputs`, which holds `str()` of it). Made on the DFK's thread for every task, so
 * they stay cheap: numbers, booleans and short strings are written out; anything else is named
 * by its kind (`File(url)`, `<task 7>`, `Array(3)`, `Map`), never walked or serialised.
 */
import { BaseFuture, DataFuture } from '../apps/future.ts';
import { File } from '../staging/file.ts';

/** Longest summary kept; the writer cuts at 1000 too. */
const MAX_SUMMARY = 200;
/** Longest string argument written out whole. */
const MAX_STRING = 40;

/** One value, briefly. */
export function briefly(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'string':
      return JSON.stringify(value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value);
    case 'undefined':
      return 'undefined';
    case 'function':
      return `[function ${value.name || 'anonymous'}]`;
    case 'symbol':
      return value.toString();
  }
  if (value === null) return 'null';
  if (value instanceof File) return `File(${value.url})`;
  if (value instanceof DataFuture) return `DataFuture(${value.file.url})`;
  if (value instanceof BaseFuture) {
    const tid = (value as { tid?: unknown }).tid;
    return typeof tid === 'number' ? `<task ${tid}>` : '<future>';
  }
  if (Array.isArray(value)) return `Array(${value.length})`;
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  return name && name !== 'Object' ? name : '{…}';
}

/**
 * The call's arguments: positional ones in order, then the options object's keys (the `inputs`
 * list by its length): `(3, "a.txt", <task 2>, {inputs: Array(2), stdout: "out.txt"})`.
 */
export function summarizeArguments(args: readonly unknown[], kwargsIndex: number): string {
  let out = '(';
  for (let i = 0; i < args.length; i++) {
    if (i > 0) out += ', ';
    if (i === kwargsIndex) {
      const kwargs = args[i] as Record<string, unknown>;
      let first = true;
      out += '{';
      for (const key in kwargs) {
        out += `${first ? '' : ', '}${key}: ${briefly(kwargs[key])}`;
        first = false;
      }
      out += '}';
    } else {
      out += briefly(args[i]);
    }
    if (out.length > MAX_SUMMARY) return `${out.slice(0, MAX_SUMMARY)}…)`;
  }
  return `${out})`;
}

/** The `inputs` of the call's options, each briefly; undefined when it has none. */
export function inputsOf(args: readonly unknown[], kwargsIndex: number): string[] | undefined {
  if (kwargsIndex < 0) return undefined;
  const inputs = (args[kwargsIndex] as { inputs?: unknown }).inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) return undefined;
  return inputs.map((item) => (item instanceof File ? item.url : item instanceof DataFuture ? item.file.url : briefly(item)));
}

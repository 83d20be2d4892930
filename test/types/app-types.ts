// Type-level checks of app() inference. Checked by `tsc -p test/tsconfig.json` (test/types.test.ts):
// every `@ts-expect-error` must be an error, everything else must type-check.
import { app, bashApp, joinApp, File, type AppFuture, type DataFuture } from '../../src/index.ts';

const double = app((x: number) => x * 2);
const f: AppFuture<number> = double(1);
double(f); // a future stands in for its value

// @ts-expect-error a string is not a number
double('x');

const length = app((text: string) => text.length);
// @ts-expect-error an AppFuture<number> is not a string
length(f);

const asyncApp = app(async (x: number) => String(x));
const awaited: AppFuture<string> = asyncApp(1); // a Promise result is unwrapped

const echo = bashApp((word: string, _o: { stdout: string }) => `echo ${word}`);
const exitCode: AppFuture<number> = echo('hi', { stdout: 'out.txt' });

const fanOut = joinApp((n: number) => [double(n), double(n + 1)]);
const joined: AppFuture<number[]> = fanOut(2);
const single = joinApp((n: number) => double(n));
const joinedOne: AppFuture<number> = single(2);

const total = app((o: { inputs: number[] }) => o.inputs.length);
total({ inputs: [f, 1, double(3)] }); // futures inside inputs

const readFile = app((o: { inputs: File[] }) => o.inputs[0]!.filepath);
const out: DataFuture = echo('x', { stdout: 'y' }).outputs[0]!;
readFile({ inputs: [new File('a.txt'), out] }); // a DataFuture stands in for its File

async function awaitable(): Promise<number> {
  return (await f) + (await f.result());
}

void [awaited, exitCode, joined, joinedOne, awaitable];

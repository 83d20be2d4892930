/**
 * Files as app inputs: `inputs` in a call's trailing options object (Parsl's `inputs=`
 * keyword) names the files the app reads; inside the app each is a `File` with `.filepath`.
 *
 * From the Parsl blog post:
 *   @python_app
 *   def sort_numbers(inputs=[]):
 *       with open(inputs[0].filepath, 'r') as f:
 *           strs = [n.strip() for n in f.readlines()]
 *           strs.sort()
 *           return strs
 *   unsorted_file = File('unsorted_numbers.txt')
 *   f = sort_numbers(inputs=[unsorted_file])
 *
 * Run: node --import tsx examples/sort-numbers.ts   (soon: npx parsl-ts run examples/sort-numbers.ts)
 * Files are written in $PARSL_EXAMPLE_DIR, or in a new temporary directory.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { app, File, load } from '../src/index.ts';

const workdir = process.env.PARSL_EXAMPLE_DIR ?? mkdtempSync(join(tmpdir(), 'parsl-example-'));
mkdirSync(workdir, { recursive: true });
process.chdir(workdir);

await using _dfk = load();

// The app imports what it needs inside its body: it runs on a worker thread.
const sortNumbers = app(async ({ inputs }: { inputs: File[] }) => {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(inputs[0]!.filepath, 'utf8');
  const numbers = text.split('\n').filter((line) => line.trim() !== '').map(Number);
  return numbers.sort((a, b) => a - b);
});

// Something to sort: 20 random numbers, one per line.
const unsorted = Array.from({ length: 20 }, () => Math.floor(Math.random() * 1000));
writeFileSync('unsorted_numbers.txt', unsorted.join('\n') + '\n');
console.log(`Unsorted: ${unsorted.join(' ')}`);

const unsortedFile = new File('unsorted_numbers.txt');
const f = sortNumbers({ inputs: [unsortedFile] });

console.log(`Sorted:   ${(await f).join(' ')}`);

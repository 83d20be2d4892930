/**
 * A many-task workflow: a docking code wrapped as a bash app, called for every protein ×
 * ligand pair, and an analysis app that runs once every docking result exists.
 *
 * From the Parsl talk ("Expressing a many task workflow in Parsl"):
 *   @bash_app
 *   def dock(p, c):
 *       return 'dock.sh {0} {1}'.format(p, c)
 *   for p in proteins:
 *       for c in ligands:
 *           structure[p][c] = dock(p, c)
 *   scatter_plot = analyze(structure)
 *
 * Each dock call declares the score file it writes in `outputs`; its future's `.outputs` are
 * DataFutures for those files, and passing them to `analyze` in `inputs` makes the analysis
 * wait for every docking run.
 *
 * Run: node --import tsx examples/protein-docking.ts   (soon: npx parsl-ts run examples/protein-docking.ts)
 * Files are written in $PARSL_EXAMPLE_DIR, or in a new temporary directory.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { app, bashApp, File, load, type AppFuture } from '../src/index.ts';

const workdir = process.env.PARSL_EXAMPLE_DIR ?? mkdtempSync(join(tmpdir(), 'parsl-example-'));
mkdirSync(workdir, { recursive: true });
process.chdir(workdir);

// A stand-in for a real docking code: a deterministic "binding score" from 0 to 999.
writeFileSync(
  'dock.sh',
  `#!/usr/bin/env bash
# dock.sh PROTEIN LIGAND: prints "PROTEIN LIGAND SCORE"
set -euo pipefail
sum=$(printf '%s+%s' "$1" "$2" | cksum | cut -d' ' -f1)
echo "$1 $2 $((sum % 1000))"
`,
  { mode: 0o755 },
);

await using _dfk = load();

/** Docks ligand `c` to protein `p`; the score goes to the call's output file. */
const dock = bashApp((p: string, c: string, { outputs }: { outputs: File[] }) => `./dock.sh ${p} ${c} > ${outputs[0]}`);

/** Reads every score file and ranks the pairs, best first. */
const analyze = app(async ({ inputs }: { inputs: File[] }) => {
  const { readFile } = await import('node:fs/promises');
  const rows = await Promise.all(
    inputs.map(async (file) => {
      const [protein, ligand, score] = (await readFile(file.filepath, 'utf8')).trim().split(' ');
      return { protein: protein!, ligand: ligand!, score: Number(score) };
    }),
  );
  return rows.sort((a, b) => b.score - a.score);
});

const proteins = ['1hsg', '2bsm', '3eml'];
const ligands = ['aspirin', 'caffeine', 'ibuprofen', 'imatinib'];

const structure: Record<string, Record<string, AppFuture<number>>> = {};
for (const p of proteins) {
  const row: Record<string, AppFuture<number>> = (structure[p] = {});
  for (const c of ligands) {
    row[c] = dock(p, c, { outputs: [new File(`${p}-${c}.score`)] });
  }
}

const scoreFiles = Object.values(structure).flatMap((row) => Object.values(row).map((f) => f.outputs[0]!));
const ranking = await analyze({ inputs: scoreFiles });

// The table: one row per protein, one column per ligand.
const scoreOf = new Map(ranking.map((r) => [`${r.protein} ${r.ligand}`, r.score]));
console.log(['protein', ...ligands].map((s) => s.padStart(10)).join(''));
for (const p of proteins) {
  console.log([p, ...ligands.map((c) => String(scoreOf.get(`${p} ${c}`)))].map((s) => s.padStart(10)).join(''));
}
const best = ranking[0]!;
console.log(`Best pair: ${best.protein} + ${best.ligand} (score ${best.score})`);

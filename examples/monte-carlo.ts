/**
 * An embarrassingly parallel Monte-Carlo integral: many independent apps, and one more that
 * waits for all of their futures (given in `inputs`) and averages them.
 *
 * Estimates I = ∫₀¹ sin(x) / (x + cos²x) dx = 0.36358 (to five places) as the mean of f(U)
 * over uniform draws U. From the Parsl blog post:
 *   @python_app
 *   def monte_carlo():
 *       u = random()
 *       return sin(u) / (u + cos(u)**2)
 *   @python_app
 *   def mean(inputs):
 *       return sum(inputs)/len(inputs)
 *   fus = [monte_carlo() for _ in range(n_draws)]
 *   integ = mean(inputs=fus)
 *
 * The blog's 100 single draws give 0.35094; here each app makes a batch of draws, so the
 * same shape of workflow gets a million draws from 100 tasks.
 *
 * Run: node --import tsx examples/monte-carlo.ts   (soon: npx parsl-ts run examples/monte-carlo.ts)
 */
import { app, load } from '../src/index.ts';

await using _dfk = load();

/** The mean of f(u) over `draws` uniform draws u in [0, 1). */
const monteCarlo = app((draws: number) => {
  let sum = 0;
  for (let i = 0; i < draws; i++) {
    const u = Math.random();
    sum += Math.sin(u) / (u + Math.cos(u) ** 2);
  }
  return sum / draws;
});

/** Parsl resolves the futures in `inputs` before the app runs: it gets plain numbers. */
const mean = app(({ inputs }: { inputs: number[] }) => inputs.reduce((a, b) => a + b, 0) / inputs.length);

const nApps = 100;
const drawsPerApp = 10_000;

const fus = Array.from({ length: nApps }, () => monteCarlo(drawsPerApp));
const integ = mean({ inputs: fus });

console.log(`Draws: ${nApps * drawsPerApp} in ${nApps} apps`);
console.log(`Average: ${(await integ).toFixed(5)} (exact: 0.36358)`);

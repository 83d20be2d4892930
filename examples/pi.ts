/**
 * Estimating π three times in parallel, then averaging: futures passed straight into another
 * app call become its dependencies.
 *
 * From the Parsl tutorial notebook ("Monte Carlo workflow"):
 *
 *   App Calls  pi()  pi()  pi()
 *               \     |     /
 *   Futures      a    b    c
 *                 \   |   /
 *   App Call     avg_points()
 *                     |
 *   Future          avg_pi
 *
 * Run: node --import tsx examples/pi.ts   (soon: npx parsl-ts run examples/pi.ts)
 */
import { app, load } from '../src/index.ts';

await using _dfk = load();

/** Drops `total` random points in a square and counts those inside the inscribed circle. */
const pi = app((total: number) => {
  // Set the size of the box (edge length) in which we drop random points
  const edgeLength = 10000;
  const center = edgeLength / 2;
  const c2 = center ** 2;
  const randint = (low: number, high: number) => low + Math.floor(Math.random() * (high - low + 1));
  let count = 0;
  for (let i = 0; i < total; i++) {
    // Drop a random point in the box.
    const x = randint(1, edgeLength);
    const y = randint(1, edgeLength);
    // Count points within the circle
    if ((x - center) ** 2 + (y - center) ** 2 < c2) count += 1;
  }
  return (count * 4) / total;
});

/** Computes the average of the values. */
const avgPoints = app((a: number, b: number, c: number) => (a + b + c) / 3);

// Estimate three values for pi
const [a, b, c] = [pi(10 ** 6), pi(10 ** 6), pi(10 ** 6)];

// Compute the average of the three estimates: runs once a, b and c are done
const avgPi = avgPoints(a, b, c);

// Print the results
console.log(`A: ${(await a).toFixed(5)} B: ${(await b).toFixed(5)} C: ${(await c).toFixed(5)}`);
console.log(`Average: ${(await avgPi).toFixed(5)}`);

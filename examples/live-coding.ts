/**
 * The PyHEP 2019 live-coding session: estimate π from random points, one app call per point,
 * then average their futures with another app. Nothing waits until the end: the whole graph
 * of 500 calls and the average is built at once, and runs as the futures resolve.
 *
 * From the speaker notes:
 *   @python_app
 *   def pi_estim_E(coords):
 *       (x, y) = coords
 *       if math.sqrt(x*x + y*y) >= 1:
 *           return 0
 *       return 4
 *   @python_app
 *   def avg(*args):
 *       return sum(args)/len(args)
 *   def estimate_pi():
 *       coords = [(random.random(), random.random()) for _ in range(1,500)]
 *       fs = list(map(pi_estim_E, coords))
 *       return avg(*fs)
 *
 * Run: node --import tsx examples/live-coding.ts   (soon: npx parsl-ts run examples/live-coding.ts)
 */
import { app, load } from '../src/index.ts';

await using _dfk = load();

type Point = [x: number, y: number];

/** 4 if the point is inside the quarter circle of radius 1, else 0: the mean tends to π. */
const piEstimE = app(([x, y]: Point) => (Math.sqrt(x * x + y * y) >= 1 ? 0 : 4));

/** Waits for every future given as an argument, then gets their values. */
const avg = app((...args: number[]) => args.reduce((a, b) => a + b, 0) / args.length);

const randomPoint = (): Point => [Math.random(), Math.random()];

// A few points first, to look at the futures.
const coords = Array.from({ length: 9 }, randomPoint);
const fs = coords.map((c) => piEstimE(c));
console.log('Just called:', fs.slice(0, 3));
const rs = await Promise.all(fs);
console.log('Finished:', fs.slice(0, 3));
console.log('Results:', rs.join(', '));

// Pass in the *futures*, not the results: avg runs once all of them are done.
const af = avg(...fs);
console.log(`avg of ${fs.length} points: ${await af}`);

// Put together: 500 apps and their average, launched all at once.
function estimatePi(points = 500) {
  const coords = Array.from({ length: points }, randomPoint);
  const fs = coords.map((c) => piEstimE(c));
  return avg(...fs);
}

const f = estimatePi();
console.log('estimatePi() returned', f);
console.log(`π ≈ ${await f} (from 500 points)`);
console.log('and now', f);

// The piscina baseline: the same functions as the parsl-ts apps of the benchmark.
export default function noop() {
  return 0;
}

export function inc(x) {
  return x + 1;
}

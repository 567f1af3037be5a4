// What test/summary-multiprocess.test.ts and its writers (summary-worker.ts) share:
// the summaries' options, seeded distributions, and the exact quantile of a
// set of observations, computed here without the library.

export const LATENCY_PERCENTILES = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1];
export const WINDOWED_PERCENTILES = [0.1, 0.5, 0.99];
/** A short window: epochs of 1 s, so what is older than 2 s is forgotten. */
export const WINDOW = { maxAgeSeconds: 2, ageBuckets: 2 };

/** A seeded generator (mulberry32), so a failure can be run again. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The `q` quantile of `values` as the summary defines it (docs/api.md): the
 * observation of rank ceil(q * n) in ascending order, the smallest for q = 0.
 */
export function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

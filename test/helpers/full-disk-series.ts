/**
 * The series full-disk-worker.ts makes, shared with the test that checks
 * them: series i is `jobs_total{kind="new-<i>"}`, incremented by i + 1 when
 * made and by 1 at each bump; every HISTOGRAM_EVERY-th i also has
 * `latency{route="/new-<i>"}`, observing observationFor(i) when made and at
 * each bump.
 */
export const HISTOGRAM_EVERY = 10;

export function observationFor(i: number): number {
  return i % 3;
}

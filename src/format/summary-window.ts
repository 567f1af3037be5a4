import { bucketUpperBound, type NativeHistogramData } from './native-histogram.js';

/**
 * Summary quantiles that merge across processes. A t-digest cannot be
 * merged by adding fixed slots, so in multiprocess mode a summary's
 * observations are counted in log buckets of one fixed schema (those of
 * native histograms, format/native-histogram.ts): buckets of the same index
 * add up across processes, exactly, and any quantile of the union is read
 * off the sum. Pure: numbers in, numbers out.
 *
 * The sliding window (prom-client's `maxAgeSeconds` and `ageBuckets`) is a
 * ring of `ageBuckets` bucket sets, each keyed to a wall-clock epoch of
 * `maxAgeSeconds / ageBuckets`: a set counts the observations of its epoch,
 * and a quantile is read off the sets of the last `ageBuckets` epochs, as
 * prom-client's ring forgets, one bucket at a time, what is older than
 * `maxAgeSeconds`. Wall-clock epochs are what every process of a host
 * agrees on, so the sets of one epoch from every writer add up.
 */

/** The schema of summary buckets: growth factor 2^(1/32), about 1.1 % relative error, 32 buckets per power of two. */
export const SUMMARY_SCHEMA = 5;

const BASE = 2 ** (2 ** -SUMMARY_SCHEMA);

/**
 * The most a quantile read off the buckets can differ from the exact one,
 * relative to it: each bucket is read as the value that is at most this far
 * from every value the bucket holds ((base - 1) / (base + 1), 1.08 %).
 */
export const SUMMARY_RELATIVE_ERROR = (BASE - 1) / (BASE + 1);

/** Observations this close to 0 count as 0 (a bucket of their own), as native histograms' default zero threshold. */
export const SUMMARY_ZERO_THRESHOLD = 2 ** -128;

/** The epoch of wall-clock time `nowMs` for a window of `ageBuckets` sets over `maxAgeSeconds`; always 0 without a window. */
export function windowEpoch(nowMs: number, maxAgeSeconds: number | undefined, ageBuckets: number | undefined): number {
  if (!maxAgeSeconds || !ageBuckets) return 0;
  return Math.floor(nowMs / ((maxAgeSeconds * 1000) / ageBuckets));
}

/** Whether a set of `epoch` is in the window that ends with the epoch `current` (the last `ageBuckets` epochs). */
export function inWindow(epoch: number, current: number, ageBuckets: number | undefined): boolean {
  const span = ageBuckets && ageBuckets > 0 ? ageBuckets : 1;
  return epoch <= current && epoch > current - span;
}

/** The place in the ring of the set of `epoch`. */
export function ringSlot(epoch: number, ageBuckets: number | undefined): number {
  const span = ageBuckets && ageBuckets > 0 ? ageBuckets : 1;
  return ((epoch % span) + span) % span;
}

/**
 * The value that stands for bucket `index` of positive observations: the
 * harmonic mean of its bounds, 2 * upper / (base + 1), which no value of the
 * bucket is further from than SUMMARY_RELATIVE_ERROR.
 */
function representative(index: number): number {
  return (2 * bucketUpperBound(index, SUMMARY_SCHEMA)) / (BASE + 1);
}

/**
 * The `q` quantile (0 <= q <= 1) of the observations counted in `buckets`
 * (at SUMMARY_SCHEMA): the value of the observation of rank ceil(q * count)
 * (the smallest for q = 0), as its bucket gives it; 0 when nothing was
 * observed, as prom-client reports an empty summary.
 */
export function quantileOf(buckets: Pick<NativeHistogramData, 'schema' | 'zeroCount' | 'count' | 'positive' | 'negative'>, q: number): number {
  if (buckets.count === 0) return 0;
  if (buckets.schema !== SUMMARY_SCHEMA) throw new RangeError(`summary buckets are at schema ${SUMMARY_SCHEMA}, not ${buckets.schema}`);
  const rank = Math.max(1, Math.ceil(q * buckets.count));
  let seen = 0;
  // Ascending values: negative buckets from the largest magnitude down, the zero bucket, positive ones up.
  for (let i = buckets.negative.length - 1; i >= 0; i--) {
    seen += buckets.negative[i][1];
    if (seen >= rank) return -representative(buckets.negative[i][0]);
  }
  seen += buckets.zeroCount;
  if (seen >= rank) return 0;
  for (const [index, count] of buckets.positive) {
    seen += count;
    if (seen >= rank) return representative(index);
  }
  // Only when counts changed under the caller (count larger than the buckets hold): the largest value.
  const last = buckets.positive[buckets.positive.length - 1];
  return last ? representative(last[0]) : 0;
}

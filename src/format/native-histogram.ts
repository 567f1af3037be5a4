/**
 * Native (exponential, sparse) histograms: the value model every layer
 * shares. A bucket of schema `s` and index `i` holds the observations `v`
 * with base^(i-1) < |v| <= base^i, where base = 2^(2^-s); observations with
 * |v| <= zeroThreshold go to the zero bucket.
 */
export interface NativeHistogramData {
  /** -4 (coarsest, base 65536) to 8 (finest, base 2^(1/256)). */
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  sum: number;
  /** zeroCount plus every bucket's count: derived from the buckets, never stored apart (a scrape must never see fewer observations than the buckets hold). */
  count: number;
  /** Buckets of positive observations: ascending index, counts above 0. */
  positive: ReadonlyArray<readonly [index: number, count: number]>;
  /** Buckets of negative observations, by the index of |v|: ascending index, counts above 0. */
  negative: ReadonlyArray<readonly [index: number, count: number]>;
}

import { bucketIndex, bucketUpperBound, type NativeHistogramData } from './native-histogram.js';

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

/** The smallest and largest observation counted, when known: quantileOf() never reads a value beyond them. */
export interface Extremes {
  min: number;
  max: number;
}

/** The bucket of `value` at SUMMARY_SCHEMA as (sign, index): sign 0 for the zero bucket. */
function bucketOf(value: number): [sign: number, index: number] {
  const magnitude = Math.abs(value);
  if (magnitude <= SUMMARY_ZERO_THRESHOLD) return [0, 0];
  return [value < 0 ? -1 : 1, bucketIndex(magnitude, SUMMARY_SCHEMA)];
}

/**
 * The `q` quantile (0 <= q <= 1) of the observations counted in `buckets`
 * (at SUMMARY_SCHEMA): the value of the observation of rank ceil(q * count)
 * (the smallest for q = 0), as its bucket gives it; 0 when nothing was
 * observed, as prom-client reports an empty summary. With `extremes`, the
 * observation of rank 1 is the smallest, that of the last rank the largest
 * (exact), and a value beyond them is brought back to them (the quantile
 * lies between them, so this only brings it closer: the quantiles of
 * observations that are all equal are exact); an extreme is used only in
 * its own bucket, so one read while its writer records a new one (from
 * another bucket than the buckets say) is left out.
 */
export function quantileOf(buckets: Pick<NativeHistogramData, 'schema' | 'zeroCount' | 'count' | 'positive' | 'negative'>, q: number, extremes?: Extremes): number {
  if (buckets.count === 0) return 0;
  if (buckets.schema !== SUMMARY_SCHEMA) throw new RangeError(`summary buckets are at schema ${SUMMARY_SCHEMA}, not ${buckets.schema}`);
  const rank = Math.max(1, Math.ceil(q * buckets.count));
  const within = (sign: number, index: number, value: number): number => {
    if (!extremes) return value;
    const [minSign, minIndex] = bucketOf(extremes.min);
    const minHere = minSign === sign && minIndex === index;
    const [maxSign, maxIndex] = bucketOf(extremes.max);
    const maxHere = maxSign === sign && maxIndex === index;
    // The first and the last observation are the extremes themselves.
    if (rank === 1 && minHere) return extremes.min;
    if (rank >= buckets.count && maxHere) return extremes.max;
    if (value < extremes.min && minHere) return extremes.min;
    if (value > extremes.max && maxHere) return extremes.max;
    return value;
  };
  let seen = 0;
  // Ascending values: negative buckets from the largest magnitude down, the zero bucket, positive ones up.
  for (let i = buckets.negative.length - 1; i >= 0; i--) {
    seen += buckets.negative[i][1];
    if (seen >= rank) return within(-1, buckets.negative[i][0], -representative(buckets.negative[i][0]));
  }
  seen += buckets.zeroCount;
  if (seen >= rank) return 0;
  for (const [index, count] of buckets.positive) {
    seen += count;
    if (seen >= rank) return within(1, index, representative(index));
  }
  // Only when counts changed under the caller (count larger than the buckets hold): the largest value.
  const last = buckets.positive[buckets.positive.length - 1];
  return last ? within(1, last[0], representative(last[0])) : 0;
}

/**
 * What one entry of a summary's sidecar file (`summary_<id>.nhdb`,
 * docs/format.md) counts. `window`: one per series, made before its
 * buckets, saying how a reader merges them (the reader may be a process
 * that never declared the metric): the window (0, 0 without one) and the
 * percentiles to export. The others: a bucket of one place of the ring,
 * whose entry's timestamp holds the epoch its count belongs to, or the
 * smallest or largest observation of one place and epoch.
 */
export type SummaryEntry =
  | { kind: 'window'; maxAgeSeconds: number; ageBuckets: number; percentiles: readonly number[] }
  | { kind: 'zero'; ring: number }
  /** The smallest or largest observation of one place of the ring (value), of the epoch in its timestamp. */
  | { kind: 'min' | 'max'; ring: number }
  | { kind: 'positive' | 'negative'; ring: number; index: number };

/** A bucket or extreme entry (every entry but the window one). */
export type SummaryBucket = Exclude<SummaryEntry, { kind: 'window' }>;

/**
 * An entry's name in a file key, where a sample name goes:
 * `window:<maxAgeSeconds>:<ageBuckets>:<p>,<p>,...`, `zero:<ring>`,
 * `pos:<ring>:<index>`, `neg:<ring>:<index>`, `min:<ring>`, `max:<ring>`; numbers as JavaScript prints
 * them, so every entry has exactly one name.
 */
export function summaryEntryName(entry: SummaryEntry): string {
  switch (entry.kind) {
    case 'window':
      return `window:${entry.maxAgeSeconds}:${entry.ageBuckets}:${entry.percentiles.join(',')}`;
    case 'zero':
    case 'min':
    case 'max':
      return `${entry.kind}:${entry.ring}`;
    default:
      return `${entry.kind === 'positive' ? 'pos' : 'neg'}:${entry.ring}:${entry.index}`;
  }
}

/** Places of a ring a file may name: prom-client's ageBuckets is a small whole number; far more is a damaged file. */
export const MAX_AGE_BUCKETS = 1024;

/**
 * The bucket indexes of finite magnitudes at SUMMARY_SCHEMA (an infinity counts in the last): past
 * the last, a bucket's upper bound and so its quantile would be +Inf.
 */
const MIN_INDEX = bucketIndex(Number.MIN_VALUE, SUMMARY_SCHEMA);
const MAX_INDEX = bucketIndex(Number.MAX_VALUE, SUMMARY_SCHEMA);

const WHOLE = /^(?:0|[1-9]\d*)$/;
const INDEX = /^(?:0|-?[1-9]\d*)$/;

function canonicalNumber(text: string): number | undefined {
  const number = Number(text);
  return text !== '' && Number.isFinite(number) && String(number) === text ? number : undefined;
}

/** The entry a name from a file stands for; undefined for anything summaryEntryName() does not write. */
export function parseSummaryEntryName(name: string): SummaryEntry | undefined {
  const parts = name.split(':');
  if (parts[0] === 'window') {
    if (parts.length !== 4) return undefined;
    const maxAgeSeconds = canonicalNumber(parts[1]);
    if (maxAgeSeconds === undefined || maxAgeSeconds < 0 || !WHOLE.test(parts[2])) return undefined;
    const ageBuckets = Number(parts[2]);
    if (ageBuckets > MAX_AGE_BUCKETS || (maxAgeSeconds === 0) !== (ageBuckets === 0)) return undefined;
    const percentiles = parts[3] === '' ? [] : parts[3].split(',').map(canonicalNumber);
    if (!percentiles.every((p): p is number => p !== undefined && p >= 0 && p <= 1)) return undefined;
    // A percentile declared twice (prom-client allows it) is one quantile series: exported twice, the exposition would be invalid.
    return { kind: 'window', maxAgeSeconds, ageBuckets, percentiles: [...new Set(percentiles)] };
  }
  if (!WHOLE.test(parts[1] ?? '') || Number(parts[1]) >= MAX_AGE_BUCKETS) return undefined;
  const ring = Number(parts[1]);
  if (parts[0] === 'zero' || parts[0] === 'min' || parts[0] === 'max') return parts.length === 2 ? { kind: parts[0], ring } : undefined;
  if ((parts[0] !== 'pos' && parts[0] !== 'neg') || parts.length !== 3 || !INDEX.test(parts[2])) return undefined;
  const index = Number(parts[2]);
  if (index < MIN_INDEX || index > MAX_INDEX) return undefined;
  return { kind: parts[0] === 'pos' ? 'positive' : 'negative', ring, index };
}

/** A summary series' window, as its `window` entry gives it. */
export interface SummaryWindow {
  maxAgeSeconds: number;
  ageBuckets: number;
  percentiles: readonly number[];
}

/**
 * Adds up the bucket entries of one series, from any number of writers,
 * into what quantileOf() reads: an entry counts when its epoch (the
 * entry's timestamp) is in the window that ends with the epoch of `nowMs`;
 * an entry of an older epoch holds what has aged out (its writer resets it
 * when it counts in that place of the ring again).
 */
export class SummaryBucketsBuilder {
  private zeroCount = 0;
  private min = Infinity;
  private max = -Infinity;
  private readonly positive = new Map<number, number>();
  private readonly negative = new Map<number, number>();
  private readonly current: number;

  constructor(
    private readonly window: SummaryWindow,
    nowMs: number,
  ) {
    this.current = windowEpoch(nowMs, window.maxAgeSeconds, window.ageBuckets);
  }

  /** Whether an entry of `epoch` counts now. */
  counts(epoch: number): boolean {
    return inWindow(epoch, this.current, this.window.ageBuckets);
  }

  /** Adds an entry's value (a count, or an extreme) if its epoch is in the window. */
  add(entry: SummaryBucket, value: number, epoch: number): void {
    if (this.counts(epoch)) this.addValue(entry, value);
  }

  /** Adds an entry's value known to be of the window. */
  addValue(entry: SummaryBucket, value: number): void {
    if (entry.kind === 'min') this.min = Math.min(this.min, value);
    else if (entry.kind === 'max') this.max = Math.max(this.max, value);
    else if (!(value > 0)) return;
    else if (entry.kind === 'zero') this.zeroCount += value;
    else if (entry.kind === 'positive' || entry.kind === 'negative') {
      const side = entry.kind === 'positive' ? this.positive : this.negative;
      side.set(entry.index, (side.get(entry.index) ?? 0) + value);
    }
  }

  /** The buckets in quantileOf()'s form. */
  build(): Pick<NativeHistogramData, 'schema' | 'zeroCount' | 'count' | 'positive' | 'negative'> {
    const sorted = (side: Map<number, number>): Array<[number, number]> => [...side].sort((x, y) => x[0] - y[0]);
    const positive = sorted(this.positive);
    const negative = sorted(this.negative);
    let count = this.zeroCount;
    for (const [, c] of positive) count += c;
    for (const [, c] of negative) count += c;
    return { schema: SUMMARY_SCHEMA, zeroCount: this.zeroCount, count, positive, negative };
  }

  /** The window's percentiles, each as quantileOf() reads it off the buckets. */
  quantiles(): number[] {
    const buckets = this.build();
    const extremes = this.min <= this.max ? { min: this.min, max: this.max } : undefined;
    return this.window.percentiles.map((p) => quantileOf(buckets, p, extremes));
  }
}

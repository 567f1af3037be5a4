// Summary quantiles read off fixed-schema log buckets (src/format/summary-window.ts):
// within the stated relative error of the exact quantile of the observations,
// whatever their distribution and sign, and the same whichever way the counts of
// several writers are added up; the window's epochs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NativeHistogramBuilder, bucketIndex } from '../src/format/native-histogram.js';
import { mergeInto } from '../src/format/merge.js';
import {
  SUMMARY_RELATIVE_ERROR,
  SUMMARY_SCHEMA,
  SUMMARY_ZERO_THRESHOLD,
  SummaryBucketsBuilder,
  inWindow,
  parseSummaryEntryName,
  quantileOf,
  ringSlot,
  summaryEntryName,
  windowEpoch,
  type SummaryEntry,
} from '../src/format/summary-window.js';
import { random } from './helpers/summary-reference.js';


/** The observations of one writer counted as a writer counts them: per bucket of the summary schema. */
function counted(values: readonly number[]): { zero: number; positive: Map<number, number>; negative: Map<number, number> } {
  const out = { zero: 0, positive: new Map<number, number>(), negative: new Map<number, number>() };
  for (const v of values) {
    if (Math.abs(v) <= SUMMARY_ZERO_THRESHOLD) {
      out.zero++;
      continue;
    }
    const side = v < 0 ? out.negative : out.positive;
    const index = bucketIndex(Math.abs(v), SUMMARY_SCHEMA);
    side.set(index, (side.get(index) ?? 0) + 1);
  }
  return out;
}

function merged(writers: ReadonlyArray<readonly number[]>): ReturnType<NativeHistogramBuilder['build']> {
  const builder = new NativeHistogramBuilder();
  for (const values of writers) {
    const c = counted(values);
    builder.addZero(SUMMARY_SCHEMA, SUMMARY_ZERO_THRESHOLD, c.zero);
    for (const [index, count] of c.positive) builder.addBucket(1, SUMMARY_SCHEMA, index, count);
    for (const [index, count] of c.negative) builder.addBucket(-1, SUMMARY_SCHEMA, index, count);
  }
  return builder.build(0);
}

/** The exact quantile by the same rank rule: the observation of rank ceil(q * n), the smallest for q = 0. */
function exact(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

const QUANTILES = [0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

describe('summary quantiles from log buckets', () => {
  it('stated error: about 1.1 %', () => {
    assert.ok(SUMMARY_RELATIVE_ERROR > 0.0108 && SUMMARY_RELATIVE_ERROR < 0.0109, String(SUMMARY_RELATIVE_ERROR));
  });

  it('several writers, each with another distribution: every quantile of the union within the stated error', () => {
    const seed = Number(process.env.SUMMARY_SEED ?? 20261202);
    const next = random(seed);
    const writers = [
      Array.from({ length: 5000 }, () => 0.001 + next() * 0.05), // uniform, small latencies
      Array.from({ length: 3000 }, () => Math.exp(next() * 12 - 6)), // log-uniform over 5 decades
      Array.from({ length: 2000 }, () => -Math.log(1 - next()) * 250), // exponential, large
      Array.from({ length: 1000 }, () => (next() < 0.5 ? -1 : 1) * (1 + next() * 1e6)), // both signs
      [0, 0, 0, 0, 0, 1e-300, -1e-300], // zeros and values in the zero bucket
    ];
    const data = merged(writers)!;
    const union = writers.flat().map((v) => (Math.abs(v) <= SUMMARY_ZERO_THRESHOLD ? 0 : v)).sort((a, b) => a - b);
    assert.equal(data.count, union.length);
    for (const q of QUANTILES) {
      const want = exact(union, q);
      const got = quantileOf(data, q);
      if (want === 0) assert.equal(got, 0, `q=${q}`);
      else assert.ok(Math.abs(got - want) <= SUMMARY_RELATIVE_ERROR * Math.abs(want) * (1 + 1e-12), `q=${q}: ${got} for ${want} (seed ${seed})`);
    }
  });

  it('the same quantiles whichever way the writers\' counts are added (splitting one writer changes nothing)', () => {
    const next = random(7);
    const values = Array.from({ length: 4000 }, () => Math.exp(next() * 8 - 4));
    const whole = merged([values])!;
    const split = merged([values.slice(0, 1000), values.slice(1000, 2500), values.slice(2500)])!;
    for (const q of QUANTILES) assert.equal(quantileOf(split, q), quantileOf(whole, q), `q=${q}`);
  });

  it('values on a bucket boundary are within the error too', () => {
    const bounds = [1, 2, 1024, 2 ** (1 / 32), 2 ** (17 / 32), 0.5];
    const data = merged([bounds])!;
    const sorted = [...bounds].sort((a, b) => a - b);
    for (const q of QUANTILES) {
      const want = exact(sorted, q);
      assert.ok(Math.abs(quantileOf(data, q) - want) <= SUMMARY_RELATIVE_ERROR * want * (1 + 1e-12), `q=${q}`);
    }
  });

  it('nothing observed: 0, as prom-client reports an empty summary', () => {
    assert.equal(quantileOf({ schema: SUMMARY_SCHEMA, zeroCount: 0, count: 0, positive: [], negative: [] }, 0.5), 0);
  });
});

describe('the window', () => {
  it('epochs of maxAgeSeconds / ageBuckets, the last ageBuckets of them in the window, a ring place each', () => {
    // 600 s over 5 sets: epochs of 120 s.
    assert.equal(windowEpoch(0, 600, 5), 0);
    assert.equal(windowEpoch(119_999, 600, 5), 0);
    assert.equal(windowEpoch(120_000, 600, 5), 1);
    assert.equal(windowEpoch(1_000_000_000_000, 600, 5), Math.floor(1e12 / 120_000));
    assert.deepEqual([10, 11, 12, 13, 14].map((e) => inWindow(e, 14, 5)), [true, true, true, true, true]);
    assert.equal(inWindow(9, 14, 5), false);
    assert.equal(inWindow(15, 14, 5), false, 'a set from a clock ahead of ours is not counted yet');
    assert.deepEqual([10, 11, 12, 13, 14, 15].map((e) => ringSlot(e, 5)), [0, 1, 2, 3, 4, 0]);
  });

  it('no window (maxAgeSeconds or ageBuckets unset): one set, epoch 0, always in', () => {
    assert.equal(windowEpoch(123_456_789, undefined, undefined), 0);
    assert.equal(windowEpoch(123_456_789, 600, undefined), 0);
    assert.equal(inWindow(0, 0, undefined), true);
    assert.equal(ringSlot(0, undefined), 0);
  });
});

describe('the entries of a summary sidecar file', () => {
  it('names every entry one way, and reads back only what it writes', () => {
    const entries: SummaryEntry[] = [
      { kind: 'window', maxAgeSeconds: 600, ageBuckets: 5, percentiles: [0.01, 0.5, 0.999] },
      { kind: 'window', maxAgeSeconds: 0.5, ageBuckets: 2, percentiles: [0, 1] },
      { kind: 'window', maxAgeSeconds: 0, ageBuckets: 0, percentiles: [] },
      { kind: 'zero', ring: 4 },
      { kind: 'positive', ring: 0, index: -1234 },
      { kind: 'negative', ring: 1023, index: 32_768 },
      { kind: 'positive', ring: 1, index: -34_368 },
    ];
    assert.deepEqual(entries.map(summaryEntryName), ['window:600:5:0.01,0.5,0.999', 'window:0.5:2:0,1', 'window:0:0:', 'zero:4', 'pos:0:-1234', 'neg:1023:32768', 'pos:1:-34368']);
    for (const entry of entries) assert.deepEqual(parseSummaryEntryName(summaryEntryName(entry)), entry);
    for (const bad of ['window:600:5', 'window:600:0:0.5', 'window:0:5:0.5', 'window:60:5:1.5', 'window:60:5:0.50', 'window:-1:5:0.5', 'window:60:2.5:0.5', 'zero:3:0', 'zero:01', 'pos:0', 'pos:0:01', 'pos:1024:1', 'pos:-1:1', 'mid:0:1', 'neg:0:99999999', 'neg:0:32769', 'pos:0:67000', 'pos:0:-34369']) {
      assert.equal(parseSummaryEntryName(bad), undefined, bad);
    }
  });

  it('compaction carries bucket entries by epoch: one epoch adds, a later one replaces, an earlier one is left', () => {
    const into = { value: 3, timestamp: 100 };
    mergeInto(into, { value: 2, timestamp: 100 }, 'epoch');
    assert.deepEqual(into, { value: 5, timestamp: 100 });
    mergeInto(into, { value: 7, timestamp: 98 }, 'epoch');
    assert.deepEqual(into, { value: 5, timestamp: 100 });
    mergeInto(into, { value: 1, timestamp: 102 }, 'epoch');
    assert.deepEqual(into, { value: 1, timestamp: 102 });
  });

  it('the builder counts only entries of an epoch in the window ending now', () => {
    const window = { maxAgeSeconds: 2, ageBuckets: 2, percentiles: [0.5] };
    const now = 10_500; // epoch 10 of 1 s
    const builder = new SummaryBucketsBuilder(window, now);
    const index = bucketIndex(5, SUMMARY_SCHEMA);
    builder.add({ kind: 'positive', ring: 0, index }, 3, 10);
    builder.add({ kind: 'positive', ring: 1, index: index + 100 }, 2, 9);
    builder.add({ kind: 'positive', ring: 0, index: index + 200 }, 50, 8);
    builder.add({ kind: 'zero', ring: 1 }, 40, 11);
    const built = builder.build();
    assert.equal(built.count, 5);
    assert.deepEqual(built.positive, [[index, 3], [index + 100, 2]]);
    assert.ok(Math.abs(builder.quantiles()[0] - 5) <= 5 * SUMMARY_RELATIVE_ERROR);
  });
});

describe('the extremes beside the buckets', () => {
  const bucketsOf = (values: number[]): ReturnType<SummaryBucketsBuilder['build']> => {
    const builder = new SummaryBucketsBuilder({ maxAgeSeconds: 0, ageBuckets: 0, percentiles: [] }, 0);
    for (const v of values) {
      if (v === 0) builder.add({ kind: 'zero', ring: 0 }, 1, 0);
      else builder.add({ kind: v < 0 ? 'negative' : 'positive', ring: 0, index: bucketIndex(Math.abs(v), SUMMARY_SCHEMA) }, 1, 0);
    }
    return builder.build();
  };

  it('make the smallest and largest observation exact, and every quantile of equal observations', () => {
    const values = [0.5, 3, 7, 7, 100, 100, 100];
    const buckets = bucketsOf(values);
    const extremes = { min: 0.5, max: 100 };
    assert.equal(quantileOf(buckets, 0, extremes), 0.5);
    assert.equal(quantileOf(buckets, 1, extremes), 100);
    assert.equal(quantileOf(buckets, 0.7, extremes), 99.7704301171248, 'rank 5 of 7, within the bucket: its representative, below the largest');
    assert.notEqual(quantileOf(buckets, 0, undefined), 0.5, 'without them, the bucket representative');
    const same = bucketsOf([100, 100, 100]);
    for (const q of [0, 0.01, 0.5, 0.99, 1]) assert.equal(quantileOf(same, q, { min: 100, max: 100 }), 100);
    assert.equal(quantileOf(bucketsOf([-4, -4]), 0.5, { min: -4, max: -4 }), -4);
  });

  it('leave out an extreme from another bucket than the counts say (read while its writer recorded a new one)', () => {
    // The buckets already count 0.2, the largest observation read is still 100's predecessor, 50.
    const buckets = bucketsOf([0.2, 50, 100]);
    assert.equal(quantileOf(buckets, 1, { min: 0.2, max: 50 }), quantileOf(buckets, 1), 'max of another bucket: the representative');
    assert.equal(quantileOf(buckets, 0, { min: 0.3, max: 100 }), quantileOf(buckets, 0), 'min of another bucket: the representative');
  });

  it('the builder takes the smallest and largest of the window from min and max entries', () => {
    const builder = new SummaryBucketsBuilder({ maxAgeSeconds: 2, ageBuckets: 2, percentiles: [0, 1] }, 10_500);
    const index = bucketIndex(5, SUMMARY_SCHEMA);
    builder.add({ kind: 'positive', ring: 0, index }, 2, 10);
    builder.add({ kind: 'min', ring: 0 }, 5, 10);
    builder.add({ kind: 'max', ring: 0 }, 5, 10);
    builder.add({ kind: 'min', ring: 1 }, 4.99, 7);
    assert.deepEqual(builder.quantiles(), [5, 5]);
  });
});

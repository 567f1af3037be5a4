import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  FRACTIONS,
  MAX_SCHEMA,
  MIN_SCHEMA,
  NativeHistogramBuilder,
  bucketIndex,
  bucketUpperBound,
  finestIndex,
  nativeBucketName,
  parseNativeBucketName,
  reduceIndex,
  schemaForFactor,
} from '../src/format/native-histogram.js';

const bits = new Float64Array(1);
const words = new BigInt64Array(bits.buffer);
/** The next double above `x` (x finite, >= 0). */
function nextUp(x: number): number {
  bits[0] = x;
  words[0] += 1n;
  return bits[0];
}
/** The next double below `x` (x > 0). */
function nextDown(x: number): number {
  bits[0] = x;
  words[0] -= 1n;
  return bits[0];
}
function ulpsApart(a: number, b: number): bigint {
  bits[0] = a;
  const x = words[0];
  bits[0] = b;
  const d = x - words[0];
  return d < 0n ? -d : d;
}

/**
 * client_golang's algorithm as it reads, written independently of ours: frexp
 * (by repeated halving), sort.SearchFloat64s over the schema's own table, and
 * the exponent arithmetic of schemas <= 0.
 */
function goKey(v: number, schema: number): number {
  let frac = Math.abs(v);
  let exp = 0;
  while (frac >= 1) {
    frac /= 2;
    exp++;
  }
  while (frac < 0.5) {
    frac *= 2;
    exp--;
  }
  if (schema > 0) {
    const bounds = Array.from({ length: 2 ** schema }, (_, j) => FRACTIONS[j * 2 ** (MAX_SCHEMA - schema)]);
    let search = bounds.findIndex((b) => b >= frac);
    if (search === -1) search = bounds.length;
    return search + (exp - 1) * bounds.length;
  }
  let key = exp;
  if (frac === 0.5) key--;
  const offset = 2 ** -schema - 1;
  return Math.floor((key + offset) / 2 ** -schema);
}

const SCHEMAS = Array.from({ length: MAX_SCHEMA - MIN_SCHEMA + 1 }, (_, i) => MIN_SCHEMA + i);

describe('native histogram boundaries', () => {
  it("are client_golang's and Prometheus' published table, bit for bit", () => {
    const published = fs
      .readFileSync(path.join(__dirname, 'fixtures', 'native-histogram-bounds.txt'), 'utf8')
      .trim()
      .split('\n')
      .map(Number);
    assert.equal(published.length, 256);
    assert.equal(FRACTIONS.length, 256);
    published.forEach((value, j) => assert.equal(FRACTIONS[j], value, `entry ${j}`));
  });

  it('are within 4 ulp of the true 2^(j/256 - 1), increasing, and not what Math.pow gives for 337 of 510', () => {
    // True value t = 2^(j/256 - 1); the double d = m * 2^-53 is within k ulp when (m - k)^256 <= 2^(53*256 + j - 256) <= (m + k)^256.
    for (let j = 0; j < 256; j++) {
      const m = BigInt(FRACTIONS[j] * 2 ** 53);
      const target = 2n ** BigInt(53 * 256 + j - 256);
      assert.ok((m - 4n) ** 256n <= target && target <= (m + 4n) ** 256n, `entry ${j} is more than 4 ulp off`);
      if (j > 0) assert.ok(FRACTIONS[j] > FRACTIONS[j - 1]);
    }
    let differ = 0;
    let total = 0;
    for (let schema = 1; schema <= MAX_SCHEMA; schema++) {
      for (let j = 0; j < 2 ** schema; j++) {
        total++;
        if (Math.pow(2, j / 2 ** schema) / 2 !== FRACTIONS[j * 2 ** (MAX_SCHEMA - schema)]) differ++;
      }
    }
    assert.deepEqual([differ, total], [337, 510]);
  });

  it('put a value exactly on an upper bound into that bucket, one ulp above into the next, at every schema', () => {
    let checked = 0;
    for (const schema of SCHEMAS) {
      const perOctave = schema > 0 ? 2 ** schema : 1;
      const step = schema >= 0 ? 1 : 2 ** -schema;
      for (const octave of [-1074, -1030, -1022, -1000, -130, -128, -127, -20, -1, 0, 1, 2, 7, 30, 500, 1000, 1020]) {
        const first = schema >= 0 ? octave * perOctave : Math.floor(octave / step);
        for (let index = first; index < first + perOctave; index++) {
          const bound = bucketUpperBound(index, schema);
          if (!(bound > 0) || !Number.isFinite(bound)) continue;
          if (bound < 2 ** -1022) {
            // Subnormal bounds are rounded (to fewer bits than the table's): only agreement with client_golang holds there.
            for (const v of [bound, nextUp(bound)]) assert.equal(bucketIndex(v, schema), goKey(v, schema), `schema ${schema}, value ${v}: as client_golang`);
            continue;
          }
          assert.equal(bucketIndex(bound, schema), index, `schema ${schema}: its bound ${bound} belongs to bucket ${index}`);
          assert.equal(bucketIndex(nextUp(bound), schema), index + 1, `schema ${schema}: one ulp above ${bound} is bucket ${index + 1}`);
          const below = nextDown(bound);
          if (below > 0 && below > bucketUpperBound(index - 1, schema)) assert.equal(bucketIndex(below, schema), index);
          for (const v of [bound, nextUp(bound), below]) {
            if (v > 0) assert.equal(bucketIndex(v, schema), goKey(v, schema), `schema ${schema}, value ${v}: as client_golang`);
          }
          checked++;
        }
      }
    }
    assert.ok(checked > 5000);
  });

  it('are the ones Math.pow misses: a value on a table bound is in its bucket where a pow-computed bound puts it one over', () => {
    // 2 * FRACTIONS[128] is the published sqrt(2) bound, one ulp below Math.SQRT2.
    const bound = 2 * FRACTIONS[128];
    assert.equal(ulpsApart(bound, Math.SQRT2), 1n);
    assert.equal(bucketIndex(bound, 1), 1);
    assert.equal(bucketIndex(Math.SQRT2, 1), 2);
    assert.equal(bucketIndex(bound, 8), 128);
    assert.equal(bucketIndex(Math.SQRT2, 8), 129);
  });

  it('index every kind of value as client_golang does', () => {
    const values = [Number.MIN_VALUE, 5e-324 * 3, 2 ** -1074 * 12345, 2 ** -1022, nextDown(2 ** -1022), 2 ** -128, 1e-9, 0.001, 0.1, 0.5, 1, 1.5, 2, 3, 10, 1e6, 2 ** 1023, Number.MAX_VALUE];
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) values.push(Math.exp((random() - 0.5) * 200));
    for (const v of values) {
      for (const schema of SCHEMAS) assert.equal(bucketIndex(v, schema), goKey(v, schema), `value ${v} at schema ${schema}`);
      assert.equal(finestIndex(v), goKey(v, 8));
    }
    assert.equal(bucketUpperBound(bucketIndex(Number.MAX_VALUE, 0), 0), Number.MAX_VALUE);
    assert.equal(bucketUpperBound(bucketIndex(Number.MAX_VALUE, 3), 3), Number.MAX_VALUE);
    assert.equal(bucketUpperBound(bucketIndex(Number.MAX_VALUE, -2), -2), Number.MAX_VALUE);
    assert.equal(bucketIndex(1, 0), 0);
    assert.equal(bucketIndex(1, 8), 0);
    assert.equal(bucketIndex(nextUp(1), 8), 1);
    assert.equal(bucketIndex(0.5, -1), 0); // (4^-1, 4^0]: index 0 at schema -1
  });
});

describe('reduceIndex', () => {
  it('maps a bucket to the coarser bucket containing it, for every schema step and sign of index', () => {
    for (let index = -3000; index <= 3000; index++) {
      for (let by = 0; by <= 12; by++) {
        const coarse = reduceIndex(index, by);
        // Bucket `index` at schema 8 lies within bucket `coarse` at schema 8 - by: (coarse - 1) * 2^by < index <= coarse * 2^by.
        assert.ok((coarse - 1) * 2 ** by < index && index <= coarse * 2 ** by, `${index} by ${by} -> ${coarse}`);
      }
    }
  });

  it('agrees with indexing the value at the coarser schema', () => {
    for (const v of [1e-7, 0.003, 0.7, 1, 1.0001, 13, 4e5, 7e200]) {
      const finest = finestIndex(v);
      for (const schema of SCHEMAS) assert.equal(reduceIndex(finest, MAX_SCHEMA - schema), bucketIndex(v, schema));
    }
  });
});

describe('schemaForFactor', () => {
  it('picks the finest schema whose growth factor is at most the factor, as client_golang', () => {
    const cases: Array<[number, number]> = [
      [1.1, 3],
      [1.01, 7],
      [1.5, 1],
      [2, 0],
      [3, 0],
      [4, -1],
      [65536, -4],
      [1e12, -4],
      [1.0001, 8],
      [1.003, 8],
      [1.2, 2],
    ];
    for (const [factor, schema] of cases) assert.equal(schemaForFactor(factor), schema, `factor ${factor}`);
  });

  it('decides a factor on a growth factor by its exact value', () => {
    for (let schema = 1; schema <= MAX_SCHEMA; schema++) {
      const nearest = Math.pow(2, 2 ** -schema);
      // nearest is above or below the true 2^(2^-schema): the true one is at most nearest iff nearest^(2^schema) >= 2.
      const m = BigInt(nearest * 2 ** 52);
      const atLeast = m ** 2n ** BigInt(schema) >= 2n ** (52n * 2n ** BigInt(schema) + 1n);
      assert.equal(schemaForFactor(nearest), atLeast ? schema : schema + 1 > MAX_SCHEMA ? MAX_SCHEMA : schema + 1, `factor ${nearest}`);
      if (atLeast) assert.equal(schemaForFactor(nextDown(nearest)), schema + 1 > MAX_SCHEMA ? MAX_SCHEMA : schema + 1, `factor ${nextDown(nearest)}`);
      else assert.equal(schemaForFactor(nextUp(nextUp(nearest))), schema, `factor ${nextUp(nextUp(nearest))}`);
    }
  });
});

describe('bucket names', () => {
  it('read back as written, and refuse anything else', () => {
    const buckets = [
      { kind: 'zero', schema: 3, threshold: 2 ** -128 },
      { kind: 'zero', schema: -4, threshold: 0 },
      { kind: 'positive', schema: 8, index: -33000 },
      { kind: 'negative', schema: 0, index: 0 },
      { kind: 'positive', schema: -2, index: 17 },
    ] as const;
    for (const bucket of buckets) assert.deepEqual(parseNativeBucketName(nativeBucketName(bucket)), bucket);
    for (const bad of ['', 'pos:3', 'pos:9:1', 'pos:-5:1', 'pos:-0:1', 'pos:3:01', 'pos:3:-0', 'pos:3:+1', 'pos:3:1.5', 'zero:3:-1', 'zero:3:1e400', 'zero:3:0.10', 'zero:3:NaN', 'mid:3:1', 'pos:3:1:2', 'pos:3:99999999999']) {
      assert.equal(parseNativeBucketName(bad), undefined, bad);
    }
  });
});

describe('NativeHistogramBuilder', () => {
  it('merges writers at different schemas exactly: the union of their observations at the lowest schema', () => {
    const observations = [
      [0.001, 0.02, 0.5, 1, 1.1, 3.7, 3.7, 10, -2, -0.3, 0],
      [0.004, 0.5, 0.9, 7, 123, -2, 1e-40],
      [2, 2, 2, 2.5, -1e6],
    ];
    const schemas = [3, 0, 5];
    const builder = new NativeHistogramBuilder();
    for (let w = 0; w < observations.length; w++) {
      const schema = schemas[w];
      const counts = new Map<string, number>();
      let zero = 0;
      for (const v of observations[w]) {
        if (Math.abs(v) <= 2 ** -128) zero++;
        else {
          const key = `${Math.sign(v)} ${bucketIndex(Math.abs(v), schema)}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      }
      builder.addZero(schema, 2 ** -128, zero);
      for (const [key, count] of counts) {
        const [sign, index] = key.split(' ').map(Number);
        builder.addBucket(sign as 1 | -1, schema, index, count);
      }
    }
    const all = observations.flat();
    const merged = builder.build(all.reduce((a, b) => a + b, 0))!;
    assert.equal(merged.schema, 0);
    assert.equal(merged.count, all.length);
    assert.equal(merged.zeroCount, 2);
    const expect = (sign: number): Array<[number, number]> => {
      const byIndex = new Map<number, number>();
      for (const v of all) if (Math.sign(v) === sign && Math.abs(v) > 2 ** -128) byIndex.set(bucketIndex(Math.abs(v), 0), (byIndex.get(bucketIndex(Math.abs(v), 0)) ?? 0) + 1);
      return [...byIndex].sort((a, b) => a[0] - b[0]);
    };
    assert.deepEqual(merged.positive, expect(1));
    assert.deepEqual(merged.negative, expect(-1));
    assert.equal(merged.count, merged.zeroCount + [...merged.positive, ...merged.negative].reduce((n, [, c]) => n + c, 0));
  });

  it('takes its schema from buckets that count 0 and from zero buckets, and leaves such buckets out', () => {
    const builder = new NativeHistogramBuilder();
    builder.addZero(5, 2 ** -128, 0);
    builder.addBucket(1, 5, 40, 3);
    builder.addBucket(1, 2, 1, 0);
    const merged = builder.build(4)!;
    assert.equal(merged.schema, 2);
    assert.deepEqual(merged.positive, [[5, 3]]);
    assert.equal(merged.count, 3);
    assert.equal(new NativeHistogramBuilder().build(0), undefined);
  });

  it('merges different zero thresholds as Prometheus: the largest, widened over the buckets reaching below it', () => {
    const builder = new NativeHistogramBuilder();
    builder.addZero(0, 0.001, 2);
    builder.addZero(0, 0.3, 1);
    // At schema 0: bucket -9 is (2^-10, 2^-9], bucket -1 (0.25, 0.5], bucket 0 (0.5, 1].
    builder.addBucket(1, 0, -9, 4);
    builder.addBucket(-1, 0, -1, 5);
    builder.addBucket(1, 0, 0, 6);
    const merged = builder.build(0)!;
    assert.equal(merged.zeroThreshold, 0.5);
    assert.equal(merged.zeroCount, 2 + 1 + 4 + 5);
    assert.deepEqual(merged.positive, [[0, 6]]);
    assert.deepEqual(merged.negative, []);
    assert.equal(merged.count, 18);
  });
});

// Native histogram options and the writer's buckets, in one process (no
// multiprocess directory: each metric's values live in memory, read back
// through get() and the in-process registries). Across processes:
// native-histogram-multiprocess.test.ts.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, MultiprocessRegistry, Registry, ValidationError } from '../src/index.js';
import type { NativeHistogramData } from '../src/format/native-histogram.js';
import { expectedHistogram, valuesAroundBounds } from './helpers/native-reference.js';
import { collectionsDuring } from './helpers/collections.js';
import { assertAllErrorsOk, EXPECT_ERROR, runSnippetLines } from './helpers/run-script.js';

delete process.env.PROMETHEUS_MULTIPROC_DIR;

let names = 0;
function histogram(options: Partial<ConstructorParameters<typeof Histogram>[0]> = {}): Histogram<string> {
  return new Histogram({ name: `native_${names++}`, help: 'Native.', registers: [], ...options });
}

async function nativeOf(metric: Histogram<string>, labels: Record<string, string> = {}): Promise<NativeHistogramData> {
  const snapshot = await metric.get();
  const series = snapshot.native?.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels));
  assert.ok(series, `no native series with labels ${JSON.stringify(labels)}`);
  return series.histogram;
}

function assertCounts(actual: NativeHistogramData, expected: ReturnType<typeof expectedHistogram>): void {
  assert.deepEqual(
    { schema: actual.schema, zeroCount: actual.zeroCount, count: actual.count, positive: actual.positive, negative: actual.negative },
    expected,
  );
}

/** Values on, just above and just below bucket boundaries of schema 3, and ordinary ones. */
function boundaryValues(): number[] {
  return [0, -0, 1e-300, 2 ** -128, -(2 ** -128), 1e-9, 0.001, 0.5, 1, 2, -2, 3.7, 10, 1e6, -1e-3, ...valuesAroundBounds(3, -20, 20, 3)];
}

describe('native histogram options', () => {
  it('are checked, and errors name the metric and the option', () => {
    const lines = runSnippetLines(`${EXPECT_ERROR}
      const make = (options) => () => new lib.Histogram({ name: 'opt_hist', help: 'h', registers: [], ...options });
      expectError(make({ nativeHistogramBucketFactor: 1 }), 'ValidationError', 'opt_hist', 'nativeHistogramBucketFactor', 'above 1');
      expectError(make({ nativeHistogramBucketFactor: 0 }), 'ValidationError', 'opt_hist', 'nativeHistogramBucketFactor');
      expectError(make({ nativeHistogramBucketFactor: '1.1' }), 'ValidationError', 'nativeHistogramBucketFactor', '"1.1"');
      expectError(make({ nativeHistogramBucketFactor: Infinity }), 'ValidationError', 'nativeHistogramBucketFactor');
      expectError(make({ nativeHistogramBucketFactor: 1.1, nativeHistogramZeroThreshold: -1 }), 'ValidationError', 'opt_hist', 'nativeHistogramZeroThreshold');
      expectError(make({ nativeHistogramBucketFactor: 1.1, nativeHistogramMaxBucketNumber: 1.5 }), 'ValidationError', 'nativeHistogramMaxBucketNumber', 'integer');
      expectError(make({ nativeHistogramBucketFactor: 1.1, nativeHistogramMinResetDuration: NaN }), 'ValidationError', 'nativeHistogramMinResetDuration');
      expectError(make({ nativeHistogramMaxBucketNumber: 10 }), 'ValidationError', 'opt_hist', 'nativeHistogramMaxBucketNumber', 'needs nativeHistogramBucketFactor');
      const h = new lib.Histogram({ name: 'ok_hist', help: 'h', registers: [], nativeHistogramBucketFactor: 1.1 });
      console.log(JSON.stringify({ native: h.native, buckets: h.buckets }));
    `);
    assertAllErrorsOk(lines);
    const [settings] = lines.filter((line) => !('ok' in (line as object)));
    assert.deepEqual(settings, {
      native: { schema: 3, zeroThreshold: 2 ** -128, maxBuckets: 160, minResetMs: 0 },
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    assert.equal(histogram().native, undefined);
    assert.throws(() => histogram({ nativeHistogramBucketFactor: 0.5 }), ValidationError);
  });
});

describe('native buckets in one process', () => {
  it('count every observation in its bucket, boundaries included, at the schema of the factor', async () => {
    for (const [factor, schema] of [[1.1, 3], [2, 0], [1.0001, 8], [70000, -4], [1.5, 1]] as const) {
      const h = histogram({ nativeHistogramBucketFactor: factor });
      const values = boundaryValues();
      for (const v of values) h.observe(v);
      const native = await nativeOf(h);
      assertCounts(native, expectedHistogram(values, schema));
      assert.equal(native.zeroThreshold, 2 ** -128);
      assert.equal(native.sum, (await h.get()).values.find((v) => v.metricName === `${h.name}_sum`)!.value);
    }
  });

  it('put |v| <= the zero threshold in the zero bucket, a threshold of 0 only exact zeros', async () => {
    const wide = histogram({ nativeHistogramBucketFactor: 1.1, nativeHistogramZeroThreshold: 0.01 });
    const exact = histogram({ nativeHistogramBucketFactor: 1.1, nativeHistogramZeroThreshold: 0 });
    const values = [0, 0.01, -0.01, 0.0100001, 1e-300, -5];
    for (const v of values) {
      wide.observe(v);
      exact.observe(v);
    }
    assertCounts(await nativeOf(wide), expectedHistogram(values, 3, 0.01));
    assertCounts(await nativeOf(exact), expectedHistogram(values, 3, 0));
    assert.equal((await nativeOf(wide)).zeroThreshold, 0.01);
    assert.equal((await nativeOf(exact)).zeroCount, 1);
  });

  it('leave the classic part as it was, and the text formats classic only', async () => {
    const registry = new Registry();
    const classic = new Histogram({ name: 'text_classic', help: 'h', labelNames: ['m'], registers: [registry], buckets: [0.1, 1] });
    const nativeRegistry = new Registry();
    const native = new Histogram({ name: 'text_classic', help: 'h', labelNames: ['m'], registers: [nativeRegistry], buckets: [0.1, 1], nativeHistogramBucketFactor: 1.1 });
    for (const v of [0.05, 0.5, 3, 0]) {
      classic.observe({ m: 'a' }, v);
      native.observe({ m: 'a' }, v);
    }
    assert.equal(await nativeRegistry.metrics(), await registry.metrics());
    const { native: _native, ...values } = await native.get();
    assert.deepEqual(values, await classic.get());
    assert.ok(_native);
  });

  it('with buckets: [] keep only the +Inf bucket, _count and _sum beside them', async () => {
    const h = histogram({ nativeHistogramBucketFactor: 1.1, buckets: [] });
    for (const v of [1, 2, 3]) h.observe(v);
    const values = (await h.get()).values.map((v) => [v.metricName, v.labels.le, v.value]);
    assert.deepEqual(values, [
      [`${h.name}_bucket`, '+Inf', 3],
      [`${h.name}_sum`, undefined, 6],
      [`${h.name}_count`, undefined, 3],
    ]);
    assert.equal((await nativeOf(h)).count, 3);
  });

  it('reach Family.native through the in-process MultiprocessRegistry', async () => {
    const h = new Histogram({ name: 'native_family', help: 'h', labelNames: ['m'], nativeHistogramBucketFactor: 2 });
    h.observe({ m: 'x' }, 3);
    h.observe({ m: 'y' }, 0.3);
    try {
      const families = await new MultiprocessRegistry().collect();
      const family = families.find((f) => f.name === 'native_family')!;
      assert.deepEqual(
        family.native?.map((s) => [s.labels, s.histogram.positive, s.histogram.count]),
        [
          [{ m: 'x' }, [[2, 1]], 1],
          [{ m: 'y' }, [[-1, 1]], 1],
        ],
      );
    } finally {
      h.registers[0].removeSingleMetric!('native_family');
    }
  });

  it('lower the schema when the buckets grow past nativeHistogramMaxBucketNumber, counting every observation once', async () => {
    const h = histogram({ nativeHistogramBucketFactor: 1.0001, nativeHistogramMaxBucketNumber: 10 });
    const values: number[] = [];
    for (let i = 0; i < 400; i++) values.push(Math.exp((i % 97) / 7 - 6) * (i % 5 === 0 ? -1 : 1));
    for (const v of values) h.observe(v);
    const native = await nativeOf(h);
    assert.ok(native.schema < 8, `schema ${native.schema}`);
    assert.ok(native.positive.length + native.negative.length <= 10, `${native.positive.length + native.negative.length} buckets`);
    assertCounts(native, expectedHistogram(values, native.schema));
  });

  it('reset the series, classic part included, when the limit is reached nativeHistogramMinResetDuration after the start', async () => {
    const h = histogram({ nativeHistogramBucketFactor: 1.1, nativeHistogramMaxBucketNumber: 3, nativeHistogramMinResetDuration: 1 });
    for (const v of [1, 2, 4]) h.observe(v);
    await new Promise((resolve) => setTimeout(resolve, 5));
    h.observe(8); // a fourth bucket: the series starts again with this value
    const native = await nativeOf(h);
    assertCounts(native, expectedHistogram([8], 3));
    const values = (await h.get()).values;
    assert.equal(values.find((v) => v.metricName === `${h.name}_count`)!.value, 1);
    assert.equal(values.find((v) => v.metricName === `${h.name}_sum`)!.value, 8);
    assert.equal(native.sum, 8);
  });

  it('leave get() with remove() and reset(), and start afresh at the first schema', async () => {
    const h = histogram({ nativeHistogramBucketFactor: 1.0001, nativeHistogramMaxBucketNumber: 2, labelNames: ['m'] });
    for (const v of [1, 10, 100, 1000]) h.observe({ m: 'a' }, v);
    assert.ok((await nativeOf(h, { m: 'a' })).schema < 8);
    h.remove('a');
    assert.deepEqual((await h.get()).native, []);
    h.observe({ m: 'a' }, 5);
    assertCounts(await nativeOf(h, { m: 'a' }), expectedHistogram([5], 8));
    h.reset();
    assert.deepEqual((await h.get()).native, []);
    const plain = histogram({ nativeHistogramBucketFactor: 1.1 });
    plain.observe(3);
    plain.reset();
    assert.deepEqual((await plain.get()).native, []);
    plain.observe(0.25);
    assertCounts(await nativeOf(plain), expectedHistogram([0.25], 3));
    plain.zero();
    assertCounts(await nativeOf(plain), { ...expectedHistogram([], 3) });
  });

  it('observe on an existing child without allocating', async () => {
    const values = new Float64Array(64);
    for (let i = 0; i < 64; i++) values[i] = Math.exp(i / 8 - 4) * (i % 7 === 0 ? -1 : 1) * (i % 11 === 0 ? 0 : 1);
    const beside = histogram({ nativeHistogramBucketFactor: 1.1, labelNames: ['m'] }).labels('a');
    const only = histogram({ nativeHistogramBucketFactor: 1.1, buckets: [], labelNames: ['m'] }).labels('a');
    // One loop per child, as a service calls observe(): each is optimised with the whole observe() inlined.
    const loops = [
      (n: number): void => {
        for (let i = 0; i < n; i++) beside.observe(values[i & 63]);
      },
      (n: number): void => {
        for (let i = 0; i < n; i++) only.observe(values[i & 63]);
      },
    ];
    for (const loop of loops) {
      loop(200000); // every bucket made, the loop optimised
      // 16 bytes an observation would be 48 MB: several collections.
      assert.deepEqual(await collectionsDuring(() => loop(3_000_000)), []);
    }
    assert.equal(beside.native!.data(0).count, 3_200_000);
  });
});

// A writer of real `.nhdb` sidecar files for test/sidecar-fuzz.test.ts: native
// histograms at a few schemas (one lowering its schema) and summaries without
// and with a window, whose ring gets a bucket set in each of its places.
// Run as a child process; env: PROMETHEUS_MULTIPROC_DIR, SIDECAR_ID (the file
// id), SIDECAR_PREFIX (of every family name). It observes fixed values, exits.
import { mock } from 'node:test';
import { Histogram, Summary, configure } from '../../src/index.js';

/** Epochs of 20 days (a timer's longest delay is 24.8 days): a test's run never sees an entry age out. */
export const SIDECAR_EPOCH_MS = 20 * 86400 * 1000;
export const SIDECAR_AGE_BUCKETS = 4;
/** The values every histogram and summary observes, in this order: zeros, both signs, many decades. */
export const SIDECAR_VALUES = [0, 0.003, 0.02, 0.02, 0.5, 1, 1.5, 7, 100, 2500, -0.25, -3, 1e-6];

function main(): void {
  const prefix = process.env.SIDECAR_PREFIX ?? '';
  // The windowed summary counts in the places of the last four epochs: the clock starts three epochs ago and is moved on.
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.now() - (SIDECAR_AGE_BUCKETS - 1) * SIDECAR_EPOCH_MS });
  configure({ processId: process.env.SIDECAR_ID });
  const histograms = [
    new Histogram({ name: `${prefix}fine_seconds`, help: 'Fine.', labelNames: ['route'], buckets: [0.01, 1], nativeHistogramBucketFactor: 1.1 }),
    new Histogram({ name: `${prefix}coarse_seconds`, help: 'Coarse.', labelNames: ['route'], buckets: [1], nativeHistogramBucketFactor: 4 }),
    // Past 6 buckets it lowers its schema: entries of several schemas in one series.
    new Histogram({ name: `${prefix}lowered_seconds`, help: 'Lowered.', buckets: [0.1], nativeHistogramBucketFactor: 1.01, nativeHistogramMaxBucketNumber: 6 }),
  ];
  const latency = new Summary({ name: `${prefix}latency_seconds`, help: 'Latency.', labelNames: ['route'], percentiles: [0, 0.1, 0.5, 0.9, 0.99, 1] });
  const recent = new Summary({
    name: `${prefix}recent_seconds`,
    help: 'Recent.',
    labelNames: ['route'],
    percentiles: [0.01, 0.5, 0.75, 0.999],
    maxAgeSeconds: (SIDECAR_AGE_BUCKETS * SIDECAR_EPOCH_MS) / 1000,
    ageBuckets: SIDECAR_AGE_BUCKETS,
  });
  for (const value of SIDECAR_VALUES) {
    histograms[0].observe({ route: '/a' }, value);
    histograms[0].observe({ route: '/b' }, value * 3);
    histograms[1].observe({ route: '/a' }, value);
    histograms[2].observe(value);
    latency.observe({ route: '/a' }, value);
    latency.observe({ route: '/b' }, value * 7);
  }
  for (let place = 0; place < SIDECAR_AGE_BUCKETS; place++) {
    for (const value of SIDECAR_VALUES.slice(place)) recent.observe({ route: '/a' }, value * (place + 1));
    if (place < SIDECAR_AGE_BUCKETS - 1) mock.timers.tick(SIDECAR_EPOCH_MS);
  }
  mock.timers.reset();
}

if (require.main === module) main();

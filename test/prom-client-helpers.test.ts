// prom-client's helpers (bucket generators, validateMetricName, the content
// type constants), as prom-client's own tests (15.1.3,
// test/bucketGeneratorsTest.js) expect them, checked against prom-client
// itself in the same run; and what they refuse.
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as prom from 'prom-client';
import {
  exponentialBuckets,
  Histogram,
  linearBuckets,
  OPENMETRICS_CONTENT_TYPE,
  openMetricsContentType,
  PROMETHEUS_CONTENT_TYPE,
  prometheusContentType,
  validateMetricName,
  ValidationError,
  type RegistryContentType,
} from '../src/index.js';

describe('linearBuckets and exponentialBuckets', () => {
  test('give the bounds prom-client gives, to the last bit', () => {
    for (const [start, width, count] of [[0, 50, 10], [0.1, 0.1, 10], [-5, 2.5, 7], [1e-9, 3e-9, 40]]) {
      assert.deepEqual(linearBuckets(start, width, count), prom.linearBuckets(start, width, count));
    }
    for (const [start, factor, count] of [[1, 2, 5], [0.005, 1.5, 30], [1e-6, 10, 12], [3, 1.0001, 100]]) {
      assert.deepEqual(exponentialBuckets(start, factor, count), prom.exponentialBuckets(start, factor, count));
    }
    // What prom-client's tests check by hand.
    const linear = linearBuckets(0, 50, 10);
    assert.equal(linear[0], 0);
    assert.equal(linear.length, 10);
    assert.equal(linear[9] - linear[8], 50);
    assert.equal(linearBuckets(0.1, 0.1, 10)[9], 1, 'no rounding error carried from bound to bound');
    const exponential = exponentialBuckets(1, 2, 5);
    assert.deepEqual(exponential, [1, 2, 4, 8, 16]);
  });

  test('are valid Histogram buckets', () => {
    const histogram = new Histogram({ name: 'generated_buckets_seconds', help: 'h', buckets: exponentialBuckets(0.001, 2, 12) });
    assert.equal(histogram.buckets.length, 12);
  });

  test('refuse what prom-client refuses, in its words, with a ValidationError showing the value; and what is not a number', () => {
    const refused = (fn: () => unknown, words: string, shown: string): void =>
      assert.throws(fn, (err: unknown) => err instanceof ValidationError && err.message.includes(words) && err.message.includes(`got ${shown}`), words);
    refused(() => linearBuckets(2, 1, 0), 'Linear buckets needs a positive count', '0');
    refused(() => linearBuckets(2, 1, 2.5), 'Linear buckets needs a positive count', '2.5');
    refused(() => exponentialBuckets(1, 1, 5), 'Exponential buckets needs a factor greater than 1', '1');
    refused(() => exponentialBuckets(0, 2, 5), 'Exponential buckets needs a positive start', '0');
    refused(() => exponentialBuckets(2, 10, 0), 'Exponential buckets needs a positive count', '0');
    refused(() => linearBuckets(0, 0, 3), 'Linear buckets needs a positive width', '0');
    refused(() => linearBuckets('0' as unknown as number, 1, 3), 'Linear buckets needs a finite start', '"0"');
    refused(() => exponentialBuckets(1, 2, NaN), 'Exponential buckets needs a positive count', 'NaN');
    for (const call of [() => prom.linearBuckets(2, 1, 0), () => prom.exponentialBuckets(1, 1, 5), () => prom.exponentialBuckets(0, 2, 5)]) assert.throws(call);
  });
});

describe('validateMetricName', () => {
  test('answers as prom-client does', () => {
    for (const name of ['jobs', 'jobs_total', 'a:b', '_x', ':x', 'x1', '1x', 'a b', 'a-b', '', 'ü', 'a\n']) {
      assert.equal(validateMetricName(name), prom.validateMetricName(name), name);
    }
    assert.equal(validateMetricName(undefined), false);
  });
});

describe('prometheusContentType and openMetricsContentType', () => {
  test('are prom-client\'s (our own copies: the library does not load prom-client)', () => {
    assert.equal(prometheusContentType, prom.prometheusContentType);
    assert.equal(openMetricsContentType, prom.openMetricsContentType);
    assert.equal(PROMETHEUS_CONTENT_TYPE, prom.Registry.PROMETHEUS_CONTENT_TYPE);
    assert.equal(OPENMETRICS_CONTENT_TYPE, prom.Registry.OPENMETRICS_CONTENT_TYPE);
    // The types are prom-client's too, both ways.
    const ours: RegistryContentType = prom.Registry.OPENMETRICS_CONTENT_TYPE;
    const theirs: prom.RegistryContentType = ours;
    assert.equal(theirs, OPENMETRICS_CONTENT_TYPE);
  });
});

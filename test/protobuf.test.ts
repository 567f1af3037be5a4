// The protobuf exposition, decoded with protobufjs against the tests' own
// metrics.proto: every metric type field by field (in-process and merged
// from forked writers, one SIGKILLed), the native part's spans, deltas,
// schema and zero bucket, float counts, long messages and Unicode, the
// Registry API (PROMETHEUS_PROTOBUF_CONTENT_TYPE, setContentType, metrics()
// resolving with a Buffer), and Accept negotiation in every HTTP surface.
import express from 'express';
import fastify from 'fastify';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import * as zlib from 'node:zlib';
import * as prom from 'prom-client';
import {
  AggregatorRegistry,
  Counter,
  fastifyMetrics,
  Gauge,
  Histogram,
  metricsHandler,
  MultiprocessRegistry,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  PROMETHEUS_PROTOBUF_CONTENT_TYPE,
  prometheusProtobufContentType,
  Registry,
  Summary,
  ValidationError,
  type Family,
  type MetricsSource,
} from '../src/index.js';
import { protobufExposition } from '../src/collector/protobuf-exposition.js';
import { encodeMetricFamilies, type ProtoFamily } from '../src/format/protobuf.js';
import { negotiateFormat } from '../src/surfaces/http.js';
import { parseExposition } from './helpers/concurrency-checks.js';
import { FIXTURES, tempDir } from './helpers/fixtures.js';
import { closeServer, listen, request } from './helpers/http.js';
import { startIpcWriter, type IpcWriter } from './helpers/ipc-writer.js';
import { expectedHistogram, valuesAroundBounds } from './helpers/native-reference.js';
import type { NativeCommand } from './helpers/native-worker.js';
import type { ExemplarCommand } from './helpers/exemplar-worker.js';
import { bucketsOf, decodeFamilies, type DecodedFamily } from './helpers/protobuf-decode.js';

const PROTOBUF = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
/** Prometheus 2.42 with --enable-feature=native-histograms (test/native-histogram-prometheus.test.ts sees it sent). */
const PROMETHEUS_NATIVE_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
/** Prometheus 2.42 without it. */
const PROMETHEUS_TEXT_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const COUNTER = 0;
const GAUGE = 1;
const SUMMARY = 2;
const HISTOGRAM = 4;

function family(families: DecodedFamily[], name: string): DecodedFamily {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `no family ${name} in ${families.map((f) => f.name).join(', ')}`);
  return found;
}

describe('protobuf exposition of one process (no directory)', () => {
  it('writes every type field by field: names as the text format has them, labels sorted, classic buckets without +Inf, native spans and deltas', async () => {
    const registry = new Registry(Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE);
    registry.setDefaultLabels({ env: 'test' });
    const jobs = new Counter({ name: 'jobs_total', help: 'Jobs done.', labelNames: ['kind', 'app'], registers: [registry] });
    jobs.inc({ kind: 'b', app: 'x' }, 3);
    const events = new Counter({ name: 'events', help: 'Events.', registers: [registry] });
    events.inc(2);
    new Gauge({ name: 'temperature', help: 'Temperature.', registers: [registry] }).set(-1.5);
    const size = new Histogram({ name: 'size_bytes', help: 'Sizes.', buckets: [1, 10], registers: [registry] });
    for (const v of [0.5, 5, 50]) size.observe(v);
    const latency = new Histogram({ name: 'latency_seconds', help: 'Latency.', buckets: [], nativeHistogramBucketFactor: 2, registers: [registry] });
    for (const v of [0, 0.75, 3, 3, -0.3]) latency.observe(v);
    const duration = new Summary({ name: 'duration_seconds', help: 'Durations.', percentiles: [0.5, 0.9], registers: [registry] });
    for (let v = 1; v <= 10; v++) duration.observe(v);

    const body = await registry.metrics();
    assert.ok(Buffer.isBuffer(body));
    const families = decodeFamilies(body);
    assert.deepEqual(
      families.map((f) => f.name),
      ['jobs_total', 'events', 'temperature', 'size_bytes', 'latency_seconds', 'duration_seconds'],
    );
    const env = { name: 'env', value: 'test' };
    assert.deepEqual(family(families, 'jobs_total'), {
      name: 'jobs_total',
      help: 'Jobs done.',
      type: COUNTER,
      metric: [{ label: [{ name: 'app', value: 'x' }, env, { name: 'kind', value: 'b' }], counter: { value: 3 } }],
    });
    assert.deepEqual(family(families, 'events'), { name: 'events', help: 'Events.', type: COUNTER, metric: [{ label: [env], counter: { value: 2 } }] });
    assert.deepEqual(family(families, 'temperature').metric, [{ label: [env], gauge: { value: -1.5 } }]);
    assert.equal(family(families, 'temperature').type, GAUGE);
    assert.deepEqual(family(families, 'size_bytes'), {
      name: 'size_bytes',
      help: 'Sizes.',
      type: HISTOGRAM,
      metric: [
        {
          label: [env],
          histogram: {
            sampleCount: 3,
            sampleSum: 55.5,
            bucket: [
              { cumulativeCount: 1, upperBound: 1 },
              { cumulativeCount: 2, upperBound: 10 },
            ],
          },
        },
      ],
    });
    // Schema 0: bucket i holds (2^(i-1), 2^i]. 0.75 -> 0, 3 -> 2 (twice), |-0.3| -> -1; 0 in the zero bucket. No classic bucket (buckets: []).
    assert.deepEqual(family(families, 'latency_seconds').metric, [
      {
        label: [env],
        histogram: {
          sampleCount: 5,
          sampleSum: 0.75 + 3 + 3 - 0.3,
          schema: 0,
          zeroThreshold: 2 ** -128,
          zeroCount: 1,
          negativeSpan: [{ offset: -1, length: 1 }],
          negativeDelta: [1],
          positiveSpan: [
            { offset: 0, length: 1 },
            { offset: 1, length: 1 },
          ],
          positiveDelta: [1, 1],
        },
      },
    ]);
    const quantiles = (await duration.get()).values.filter((v) => v.labels.quantile !== undefined).map((v) => ({ quantile: Number(v.labels.quantile), value: v.value }));
    assert.equal(quantiles.length, 2);
    assert.deepEqual(family(families, 'duration_seconds'), {
      name: 'duration_seconds',
      help: 'Durations.',
      type: SUMMARY,
      metric: [{ label: [env], summary: { sampleCount: 10, sampleSum: 55, quantile: quantiles } }],
    });

    // The text methods of a protobuf registry write the text format.
    assert.match(await registry.getMetricsAsString(jobs), /^jobs_total\{kind="b",app="x",env="test"\} 3$/m);
    const text: string = await registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE).metrics();
    assert.match(text, /^# TYPE jobs_total counter$/m);
  });

  it('writes exemplars: a counter\'s, a bucket\'s (the +Inf one as an explicit bucket carrying it), with labels in their order and a Timestamp', async () => {
    const registry = new Registry(Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE);
    const requests = new Counter({ name: 'requests_total', help: 'Requests.', labelNames: ['route'], enableExemplars: true, registers: [registry] });
    const latency = new Histogram({ name: 'wait_seconds', help: 'Waits.', buckets: [1], enableExemplars: true, registers: [registry] });
    const before = Date.now() / 1000;
    requests.inc({ labels: { route: '/a' }, value: 2, exemplarLabels: { trace_id: 'abc', span_id: '01' } });
    latency.observe({ labels: {}, value: 0.5, exemplarLabels: { trace_id: 'low' } });
    latency.observe({ labels: {}, value: 5, exemplarLabels: { trace_id: 'high' } });
    const nativeOnly = new Histogram({ name: 'native_wait_seconds', help: 'Waits.', buckets: [], nativeHistogramBucketFactor: 2, enableExemplars: true, registers: [registry] });
    nativeOnly.observe({ labels: {}, value: 3, exemplarLabels: { trace_id: 'native' } });
    const after = Date.now() / 1000;
    const families = decodeFamilies(await registry.metrics());
    const stamp = (t: { seconds?: number; nanos?: number } | undefined): number => {
      assert.ok(t && Number.isInteger(t.seconds) && Number.isInteger(t.nanos ?? 0) && (t.nanos ?? 0) < 1e9, JSON.stringify(t));
      const seconds = t.seconds! + (t.nanos ?? 0) / 1e9;
      assert.ok(seconds >= before - 0.001 && seconds <= after + 0.001, `${seconds} not in [${before}, ${after}]`);
      return seconds;
    };
    const counter = family(families, 'requests_total').metric![0].counter!;
    assert.equal(counter.value, 2);
    const { timestamp, ...exemplar } = counter.exemplar!;
    stamp(timestamp);
    assert.deepEqual(exemplar, { label: [{ name: 'trace_id', value: 'abc' }, { name: 'span_id', value: '01' }], value: 2 });
    const buckets = family(families, 'wait_seconds').metric![0].histogram!.bucket!;
    assert.deepEqual(
      buckets.map((b) => [b.upperBound, b.cumulativeCount, b.exemplar?.label, b.exemplar?.value]),
      [
        [1, 1, [{ name: 'trace_id', value: 'low' }], 0.5],
        [Infinity, 2, [{ name: 'trace_id', value: 'high' }], 5],
      ],
    );
    for (const b of buckets) stamp(b.exemplar!.timestamp);
    // A native histogram's exemplars also in Histogram.exemplars (field 16), where newer Prometheus reads them.
    const native = family(families, 'native_wait_seconds').metric![0].histogram!;
    assert.deepEqual(native.bucket!.map((b) => [b.upperBound, b.cumulativeCount]), [[Infinity, 1]]);
    assert.deepEqual(native.exemplars, [native.bucket![0].exemplar]);
    assert.deepEqual([native.exemplars![0].label, native.exemplars![0].value, native.sampleCount, native.positiveSpan], [[{ name: 'trace_id', value: 'native' }], 3, 1, [{ offset: 2, length: 1 }]]);
  });

  it('AggregatorRegistry: clusterMetrics() in protobuf, an empty body when there is nothing (prom-client\'s \'\')', async () => {
    const empty: Buffer = await new AggregatorRegistry(PROMETHEUS_PROTOBUF_CONTENT_TYPE).clusterMetrics();
    assert.ok(Buffer.isBuffer(empty));
    assert.equal(empty.length, 0);
    const own = new Registry(PROMETHEUS_PROTOBUF_CONTENT_TYPE);
    new Gauge({ name: 'cluster_gauge', help: 'G.', registers: [own] }).set(4);
    AggregatorRegistry.setRegistries(own);
    try {
      const bytes: Buffer = await new AggregatorRegistry(PROMETHEUS_PROTOBUF_CONTENT_TYPE).clusterMetrics();
      assert.deepEqual(decodeFamilies(bytes), [{ name: 'cluster_gauge', help: 'G.', type: GAUGE, metric: [{ gauge: { value: 4 } }] }]);
    } finally {
      AggregatorRegistry.setRegistries([]);
    }
  });

  it('has the content type of client_js PR #856 and refuses unknown ones by name', () => {
    assert.equal(Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE, PROTOBUF);
    assert.equal(PROMETHEUS_PROTOBUF_CONTENT_TYPE, PROTOBUF);
    assert.equal(prometheusProtobufContentType, PROTOBUF);
    const registry = new Registry();
    assert.equal(registry.setContentType(PROMETHEUS_PROTOBUF_CONTENT_TYPE), registry);
    assert.equal(registry.contentType, PROTOBUF);
    assert.throws(() => registry.setContentType('application/json' as typeof PROTOBUF), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.match(err.message, /application\/json is unsupported.*encoding=delimited/);
      return true;
    });
    assert.equal(registry.contentType, PROTOBUF);
  });
});

describe('protobuf encoding of families', () => {
  it('writes a native part exactly: negative schema (zigzag), gaps between spans, negative deltas, float counts as the float fields, the no-op span', () => {
    const families: Family[] = [
      {
        name: 'h',
        type: 'histogram',
        help: 'H.',
        samples: [
          { name: 'h_bucket', labels: { le: '0.5', b: '2', a: '1' }, value: 3 },
          { name: 'h_bucket', labels: { le: '+Inf', b: '2', a: '1' }, value: 13 },
          { name: 'h_sum', labels: { b: '2', a: '1' }, value: 99.5 },
          { name: 'h_count', labels: { b: '2', a: '1' }, value: 13 },
          { name: 'h_bucket', labels: { le: '+Inf', a: 'float' }, value: 1.5 },
          { name: 'h_sum', labels: { a: 'float' }, value: 2 },
          { name: 'h_count', labels: { a: 'float' }, value: 1.5 },
          { name: 'h_bucket', labels: { le: '+Inf', a: 'empty' }, value: 0 },
          { name: 'h_sum', labels: { a: 'empty' }, value: 0 },
          { name: 'h_count', labels: { a: 'empty' }, value: 0 },
        ],
        native: [
          {
            labels: { a: '1', b: '2' },
            histogram: {
              schema: -2,
              zeroThreshold: 0.5,
              zeroCount: 0,
              sum: 99.5,
              count: 14,
              positive: [
                [-5, 2],
                [-4, 7],
                [-1, 1],
                [3, 4],
              ],
              negative: [],
            },
          },
          { labels: { a: 'float' }, histogram: { schema: 8, zeroThreshold: 0, zeroCount: 0.25, sum: 2, count: 1.5, positive: [[1, 1.25]], negative: [] } },
          { labels: { a: 'empty' }, histogram: { schema: 3, zeroThreshold: 0, zeroCount: 0, sum: 0, count: 0, positive: [], negative: [] } },
        ],
      },
    ];
    const [decoded] = decodeFamilies(protobufExposition(families));
    assert.deepEqual(decoded.metric, [
      {
        label: [
          { name: 'a', value: '1' },
          { name: 'b', value: '2' },
        ],
        histogram: {
          // The native count (14), not the classic one (13): Prometheus drops a target whose count is below its buckets.
          sampleCount: 14,
          sampleSum: 99.5,
          bucket: [{ cumulativeCount: 3, upperBound: 0.5 }],
          schema: -2,
          zeroThreshold: 0.5,
          zeroCount: 0,
          positiveSpan: [
            { offset: -5, length: 2 },
            { offset: 2, length: 1 },
            { offset: 3, length: 1 },
          ],
          positiveDelta: [2, 5, -6, 3],
        },
      },
      {
        label: [{ name: 'a', value: 'float' }],
        histogram: { sampleCountFloat: 1.5, sampleSum: 2, schema: 8, zeroThreshold: 0, zeroCountFloat: 0.25, positiveSpan: [{ offset: 1, length: 1 }], positiveCount: [1.25] },
      },
      {
        label: [{ name: 'a', value: 'empty' }],
        histogram: { sampleCount: 0, sampleSum: 0, schema: 3, zeroThreshold: 0, zeroCount: 0, positiveSpan: [{ offset: 0, length: 0 }] },
      },
    ]);
    assert.deepEqual(bucketsOf(decoded.metric![0].histogram!.positiveSpan, decoded.metric![0].histogram!.positiveDelta), families[0].native![0].histogram.positive);
  });

  it('writes an exemplar timestamp as its whole millisecond, never 1 ms early once Prometheus truncates nanos to milliseconds', () => {
    // Times as exemplars have them (Date.now() / 1000): every millisecond of a few seconds, now and at 2^31 s.
    const times: number[] = [];
    for (const base of [0, 1, 1_764_763_200, 2 ** 31]) for (let k = 0; k < 3000; k++) times.push((base * 1000 + k) / 1000);
    const families: ProtoFamily[] = [
      {
        name: 'jobs_total',
        help: 'Jobs.',
        type: 'counter',
        metrics: times.map((timestamp, i) => ({ labels: [['i', String(i)]], value: 1, exemplar: { labels: [['trace_id', 't']], value: 1, timestamp } })),
      },
    ];
    const [decoded] = decodeFamilies(encodeMetricFamilies(families));
    const wrong: string[] = [];
    decoded.metric!.forEach((metric, i) => {
      const { seconds = 0, nanos = 0 } = metric.counter!.exemplar!.timestamp!;
      assert.ok(nanos >= 0 && nanos < 1e9, `nanos ${nanos}`);
      if (seconds * 1000 + Math.floor(nanos / 1e6) !== Math.round(times[i] * 1000)) wrong.push(`${times[i]} -> ${seconds}s ${nanos}ns`);
    });
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${times.length} timestamps off`);
  });

  it('writes native counts at or above 2^53 as a float histogram (deltas would leave sint64), counts just below it as deltas', () => {
    const nativeFamily = (name: string, counts: number[]): ProtoFamily => {
      const zeroCount = counts[0];
      const positive = counts.slice(1).map((count, i) => [i, count] as const);
      const count = counts.reduce((a, b) => a + b, 0);
      return { name, help: 'H.', type: 'histogram', metrics: [{ labels: [], histogram: { count, sum: 1, buckets: [], native: { schema: 0, zeroThreshold: 0, zeroCount, sum: 1, count, positive, negative: [] } } }] };
    };
    const huge = [0, 2 ** 63, 1, 2 ** 64 - 2 ** 12, 2 ** 70];
    const belowLimit = [0, 2 ** 53 - 2, 1];
    // Deltas past 2^52 zigzag past 2^53, where a double holds no odd number: -(2^53 - 3) and -2^52 (a borrow from the low bits).
    const borrow = [0, 2 ** 52 + 1, 1];
    const [hugeDecoded, belowDecoded, borrowDecoded] = decodeFamilies(
      encodeMetricFamilies([nativeFamily('huge', huge), nativeFamily('below', belowLimit), nativeFamily('borrow', borrow)]),
    );
    const hugeHistogram = hugeDecoded.metric![0].histogram!;
    assert.equal(hugeHistogram.positiveDelta, undefined);
    assert.equal(hugeHistogram.sampleCount, undefined);
    assert.equal(hugeHistogram.zeroCount, undefined);
    assert.equal(hugeHistogram.sampleCountFloat, huge.reduce((a, b) => a + b, 0));
    assert.equal(hugeHistogram.zeroCountFloat, 0);
    assert.deepEqual(
      bucketsOf(hugeHistogram.positiveSpan, undefined, hugeHistogram.positiveCount),
      huge.slice(1).map((count, i) => [i, count]),
    );
    const belowHistogram = belowDecoded.metric![0].histogram!;
    assert.equal(belowHistogram.sampleCount, 2 ** 53 - 1);
    assert.equal(belowHistogram.zeroCount, 0);
    assert.equal(belowHistogram.positiveCount, undefined);
    assert.deepEqual(belowHistogram.positiveDelta, [2 ** 53 - 2, -(2 ** 53 - 3)]);
    assert.deepEqual(bucketsOf(belowHistogram.positiveSpan, belowHistogram.positiveDelta), [
      [0, 2 ** 53 - 2],
      [1, 1],
    ]);
    assert.deepEqual(borrowDecoded.metric![0].histogram!.positiveDelta, [2 ** 52 + 1, -(2 ** 52)]);
  });

  it('writes messages of any length (lengths of 1 to 3 bytes), Unicode as UTF-8, untyped families, and leaves out families without series', () => {
    const values = Array.from({ length: 3000 }, (_, i) => i * 0.5 - 7);
    const families: Family[] = [
      { name: 'declared_only', type: 'gauge', help: 'Never set.', samples: [] },
      {
        name: 'wide',
        type: 'gauge',
        help: `Help with a newline\nand "quotes", ü€😀 ${'x'.repeat(300)}`,
        samples: values.map((value, i) => ({ name: 'wide', labels: { series: `s${i}`, text: `ü€😀\\"\n${'y'.repeat(i % 200)}` }, value })),
      },
      { name: 'other', type: 'untyped' as Family['type'], help: '', samples: [{ name: 'other', labels: {}, value: NaN }] },
    ];
    const body = protobufExposition(families);
    assert.ok(body.length > 16384 * 10);
    const decoded = decodeFamilies(body);
    assert.deepEqual(
      decoded.map((f) => f.name),
      ['wide', 'other'],
    );
    assert.equal(decoded[0].help, families[1].help);
    assert.equal(decoded[0].metric!.length, values.length);
    decoded[0].metric!.forEach((metric, i) => {
      assert.deepEqual(metric.label, [
        { name: 'series', value: `s${i}` },
        { name: 'text', value: families[1].samples[i].labels.text },
      ]);
      assert.equal(metric.gauge!.value, values[i]);
    });
    assert.equal(decoded[1].type, 3);
    assert.ok(Number.isNaN(decoded[1].metric![0].untyped!.value));
  });
});

const WORKER = path.join(__dirname, 'helpers', 'native-worker.ts');

function startWriter(dir: string, id: string, factor: number): Promise<IpcWriter<NativeCommand>> {
  return startIpcWriter<NativeCommand>(WORKER, { PROMETHEUS_MULTIPROC_DIR: dir, NATIVE_PROCESS_ID: id, NATIVE_FACTOR: String(factor), NATIVE_TIMEOUT_MS: '2000' });
}

describe('protobuf exposition of a directory', () => {
  it('carries the merge of forked writers at schemas 3, 0 and 7, one SIGKILLed: native buckets as the union of observations, classic ones as the text format', async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const writers = [await startWriter(dir, 'w3', 1.1), await startWriter(dir, 'w0', 2), await startWriter(dir, 'w7', 1.01)];
    t.after(() => writers.forEach((w) => w.child.kill('SIGKILL')));
    const observed = [
      [0, 0, 1e-45, -1e-45, 0.003, 0.25, 1, 7.5, -2, ...valuesAroundBounds(3, -20, 20, 3)],
      [0.5, 1, 2, 4, 3, -3, 1e9, ...valuesAroundBounds(0, -5, 5)],
      [1e-7, 0.01, 0.1, 1.5, 42, -42, ...valuesAroundBounds(7, 100, 300, 17)],
    ];
    for (let i = 0; i < writers.length; i++) await writers[i].send({ op: 'observe', route: 'a', values: observed[i] });
    await writers[0].send({ op: 'observe', route: 'b', values: [0.2, 0.3] });
    await writers[2].send({ op: 'observe', route: 'b', values: [0.2, 900] });
    await writers[2].kill();

    const warn = (message: string): void => assert.fail(`unexpected warning: ${message}`);
    const registry = new MultiprocessRegistry({ dir, compactThreshold: 0, logger: { warn }, contentType: MultiprocessRegistry.PROMETHEUS_PROTOBUF_CONTENT_TYPE });
    const bytes: Buffer = await registry.metrics();
    const latency = family(decodeFamilies(bytes), 'latency_seconds');
    assert.equal(latency.type, HISTOGRAM);
    assert.equal(latency.help, 'Latency.');
    const text = parseExposition(await new MultiprocessRegistry({ dir, compactThreshold: 0, logger: { warn } }).metrics()).samples;
    const routes = { a: { values: observed.flat(), schema: 0 }, b: { values: [0.2, 0.3, 0.2, 900], schema: 3 } };
    assert.deepEqual(
      latency.metric!.map((m) => m.label),
      [[{ name: 'route', value: 'a' }], [{ name: 'route', value: 'b' }]],
    );
    for (const metric of latency.metric!) {
      const route = metric.label![0].value as 'a' | 'b';
      const { values, schema } = routes[route];
      const h = metric.histogram!;
      const expected = expectedHistogram(values, schema);
      assert.equal(h.schema, expected.schema, `route ${route}`);
      assert.equal(h.zeroCount, expected.zeroCount, `route ${route}`);
      assert.equal(h.zeroThreshold, 2 ** -128);
      assert.deepEqual(bucketsOf(h.positiveSpan, h.positiveDelta), expected.positive, `route ${route}`);
      assert.deepEqual(bucketsOf(h.negativeSpan, h.negativeDelta), expected.negative, `route ${route}`);
      assert.equal(h.sampleCount, values.length);
      const sample = (name: string, le?: string): number =>
        text.find((s) => s.name === name && s.labels.route === route && (le === undefined ? s.labels.le === undefined : Number(s.labels.le) === Number(le)))!.value;
      assert.equal(h.sampleSum, sample('latency_seconds_sum'));
      assert.equal(h.sampleCount, sample('latency_seconds_count'));
      assert.deepEqual(
        h.bucket,
        ['0.01', '0.1', '1', '10'].map((le) => ({ cumulativeCount: sample('latency_seconds_bucket', le), upperBound: Number(le) })),
      );
    }
    // The collector's own counter, named as Prometheus names a protobuf counter's series.
    assert.deepEqual(family(decodeFamilies(bytes), 'prom_multiproc_skipped_files_total').metric, [{ counter: { value: 0 } }]);
    for (const w of writers.slice(0, 2)) await w.exit();
  });
});

describe('protobuf exemplars of a directory', () => {
  it('carries the latest exemplar of each series and bucket over the writers, a SIGKILLed one included', async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const worker = path.join(__dirname, 'helpers', 'exemplar-worker.ts');
    const start = (id: string): Promise<IpcWriter<ExemplarCommand>> => startIpcWriter<ExemplarCommand>(worker, { PROMETHEUS_MULTIPROC_DIR: dir, EXEMPLAR_PROCESS_ID: id, EXEMPLAR_TIMEOUT_MS: '2000' });
    const a = await start('a');
    const b = await start('b');
    t.after(() => [a, b].forEach((w) => w.child.kill('SIGKILL')));
    await a.send({ op: 'inc', route: '/x', value: 1, trace: 'first' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await b.send({ op: 'inc', route: '/x', value: 2, trace: 'latest' });
    await b.send({ op: 'observe', route: '/x', value: 0.05, trace: 'fast' });
    await b.send({ op: 'observe', route: '/x', value: 7, trace: 'slow' });
    await b.kill();
    const registry = new MultiprocessRegistry({ dir, compactThreshold: 0, contentType: PROMETHEUS_PROTOBUF_CONTENT_TYPE, logger: { warn: (m) => assert.fail(m) } });
    const families = decodeFamilies(await registry.metrics());
    // Declared `requests`: named so in protobuf as in the text format.
    const counter = family(families, 'requests').metric![0].counter!;
    assert.equal(counter.value, 3);
    assert.deepEqual([counter.exemplar?.label, counter.exemplar?.value], [[{ name: 'trace_id', value: 'latest' }], 2]);
    const buckets = family(families, 'latency_seconds').metric![0].histogram!.bucket!;
    assert.deepEqual(
      buckets.map((bucket) => [bucket.upperBound, bucket.cumulativeCount, bucket.exemplar?.label?.[0].value]),
      [
        [0.1, 1, 'fast'],
        [1, 1, undefined],
        [Infinity, 2, 'slow'],
      ],
    );
    await a.exit();
  });
});

describe('Accept negotiation', () => {
  const cases: Array<[string | string[] | undefined, boolean, string]> = [
    [PROMETHEUS_NATIVE_ACCEPT, true, 'protobuf'],
    [PROMETHEUS_NATIVE_ACCEPT, false, 'openmetrics'],
    [PROMETHEUS_TEXT_ACCEPT, true, 'openmetrics'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1', true, 'protobuf'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.3,text/plain;version=0.0.4;q=0.7', true, 'prometheus'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;q=0.6', true, 'openmetrics'],
    ['text/plain, application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited', true, 'protobuf'],
    ['Application/Vnd.Google.Protobuf; Proto="io.prometheus.client.MetricFamily"; Encoding=delimited', true, 'protobuf'],
    ['application/vnd.google.protobuf', true, 'protobuf'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text', true, 'prometheus'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text,application/openmetrics-text;q=0.2', true, 'openmetrics'],
    ['application/vnd.google.protobuf;proto=io.prometheus.write.WriteRequest;encoding=delimited', true, 'prometheus'],
    ['application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0', true, 'prometheus'],
    [['text/plain;q=0.5', 'application/vnd.google.protobuf;encoding=delimited'], true, 'protobuf'],
    ['*/*', true, 'prometheus'],
    ['application/openmetrics-text', true, 'openmetrics'],
    [undefined, true, 'prometheus'],
    ['', true, 'prometheus'],
  ];
  for (const [accept, protobuf, expected] of cases) {
    it(`${JSON.stringify(accept)}${protobuf ? '' : ' (no protobuf)'}: ${expected}`, () => {
      assert.equal(negotiateFormat(accept, { protobuf }), expected);
    });
  }
});

/** A fresh copy of Python's `counters` fixture directory (jobs_total 3.25). */
function fixtureDir(t: TestContext): string {
  const temp = tempDir('prom-multiproc-protobuf-');
  t.after(temp.cleanup);
  fs.cpSync(path.join(FIXTURES, 'counters', 'db'), temp.dir, { recursive: true });
  return temp.dir;
}

async function serve(t: TestContext, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  const base = await listen(server);
  t.after(() => closeServer(server));
  return `${base}/metrics`;
}

/** What every surface answers Prometheus with native histograms on: protobuf, gzipped, HEAD without a body; text to others. */
async function checkProtobufSurface(url: string): Promise<void> {
  const answer = await request(url, { headers: { Accept: PROMETHEUS_NATIVE_ACCEPT, 'Accept-Encoding': 'gzip' } });
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.headers['content-type'], PROTOBUF);
  assert.equal(answer.headers['content-encoding'], 'gzip');
  assert.equal(answer.headers.vary, 'Accept, Accept-Encoding');
  assert.equal(Number(answer.headers['content-length']), answer.body.length);
  const jobs = family(decodeFamilies(zlib.gunzipSync(answer.body)), 'jobs_total');
  assert.deepEqual(jobs, { name: 'jobs_total', help: 'Jobs done.', type: COUNTER, metric: [{ counter: { value: 3.25 } }] });

  const plain = await request(url, { headers: { Accept: PROMETHEUS_NATIVE_ACCEPT } });
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.deepEqual(decodeFamilies(plain.body), decodeFamilies(zlib.gunzipSync(answer.body)));

  const head = await request(url, { method: 'HEAD', headers: { Accept: PROMETHEUS_NATIVE_ACCEPT } });
  assert.equal(head.headers['content-type'], PROTOBUF);
  assert.equal(head.body.length, 0);

  // Concurrent scrapes in the three formats each get their own.
  const accepts = [PROMETHEUS_NATIVE_ACCEPT, PROMETHEUS_TEXT_ACCEPT, 'text/plain'];
  const types = [PROTOBUF, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE];
  const mixed = await Promise.all(Array.from({ length: 12 }, (_, i) => request(url, { headers: { Accept: accepts[i % 3] } })));
  mixed.forEach((result, i) => {
    assert.equal(result.headers['content-type'], types[i % 3], `request ${i}`);
    if (i % 3 === 0) assert.equal(family(decodeFamilies(result.body), 'jobs_total').metric![0].counter!.value, 3.25);
    else assert.match(result.text, /^jobs_total 3\.25$/m, `request ${i}`);
  });
}

describe('protobuf from the HTTP surfaces', () => {
  it('metricsHandler (node:http and Express) and the Fastify plugin answer the protobuf Accept with protobuf', async (t) => {
    const registry = new MultiprocessRegistry({ dir: fixtureDir(t) });
    await checkProtobufSurface(await serve(t, metricsHandler(registry)));
    const app = express();
    app.get('/metrics', metricsHandler(registry));
    await checkProtobufSurface(await serve(t, app));
    const server = fastify();
    await server.register(fastifyMetrics, { registry, path: '/metrics' });
    const base = await server.listen({ port: 0, host: '127.0.0.1' });
    t.after(() => server.close());
    await checkProtobufSurface(`${base}/metrics`);
    // The registry's own content type is left as it was.
    assert.equal(registry.contentType, PROMETHEUS_CONTENT_TYPE);
  });

  it('asks a prom-client registry only for text, and a source with client_js PR #856 content type for protobuf', async (t) => {
    const promRegistry = new prom.Registry();
    new prom.Counter({ name: 'prom_jobs_total', help: 'Jobs.', registers: [promRegistry] }).inc();
    const fromProm = await request(await serve(t, metricsHandler(promRegistry)), { headers: { Accept: PROMETHEUS_NATIVE_ACCEPT } });
    assert.equal(fromProm.headers['content-type'], OPENMETRICS_CONTENT_TYPE);
    assert.match(fromProm.text, /^# TYPE prom_jobs counter$/m);

    const asked: string[] = [];
    class ProtobufCapable {
      static readonly PROMETHEUS_PROTOBUF_CONTENT_TYPE = PROTOBUF;
      contentType: string = PROMETHEUS_CONTENT_TYPE;
      setContentType(contentType: string): void {
        this.contentType = contentType;
      }
      async metrics(): Promise<string | Uint8Array> {
        asked.push(this.contentType);
        return this.contentType === PROTOBUF ? new Uint8Array([0x02, 0x0a, 0x00]) : 'x 1\n';
      }
    }
    const capable = await request(await serve(t, metricsHandler(new ProtobufCapable() as MetricsSource)), { headers: { Accept: PROMETHEUS_NATIVE_ACCEPT } });
    assert.equal(capable.headers['content-type'], PROTOBUF);
    assert.deepEqual([...capable.body], [0x02, 0x0a, 0x00]);
    assert.deepEqual(asked, [PROTOBUF]);
  });
});

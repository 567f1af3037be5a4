import type { NativeHistogramData } from './native-histogram.js';

/**
 * Prometheus' protobuf exposition: io.prometheus.client.MetricFamily
 * messages of prometheus/client_model's io/prometheus/client/metrics.proto
 * (proto2), each preceded by its length as a varint ("delimited"). Pure:
 * plain objects in, bytes out.
 *
 * Encoded by hand, not with a protobuf library: the exposition is a handful
 * of messages made of varints, doubles, strings and nested messages, which
 * one small writer covers. A library (protobufjs with its schema) would add
 * a run-time dependency and its load time to every process that serves
 * metrics, start-up being one of our measured goals, for no field we could
 * not write in a line. The tests decode every message with protobufjs
 * against their own copy of metrics.proto (test/fixtures/metrics.proto).
 *
 * Field numbers (metrics.proto): MetricFamily{name=1, help=2, type=3,
 * metric=4}; Metric{label=1, gauge=2, counter=3, summary=4, untyped=5,
 * timestamp_ms=6, histogram=7}; LabelPair{name=1, value=2};
 * Gauge/Counter/Untyped{value=1}; Summary{sample_count=1, sample_sum=2,
 * quantile=3}; Quantile{quantile=1, value=2}; Histogram{sample_count=1,
 * sample_sum=2, bucket=3, sample_count_float=4, schema=5 (sint32),
 * zero_threshold=6, zero_count=7, zero_count_float=8, negative_span=9,
 * negative_delta=10 (sint64), negative_count=11, positive_span=12,
 * positive_delta=13, positive_count=14}; Bucket{cumulative_count=1,
 * upper_bound=2, exemplar=3, cumulative_count_float=4}; BucketSpan{offset=1
 * (sint32), length=2}; Counter{value=1, exemplar=2}; Histogram{exemplars=16};
 * Exemplar{label=1, value=2, timestamp=3}; google.protobuf.Timestamp{seconds=1
 * (int64), nanos=2 (int32)}. Every field is written when it has a value, zeros included
 * (proto2 keeps presence: a schema of 0 must be there), fields in number
 * order, repeated scalars unpacked (proto2's default; decoders read both).
 */

export type ProtoMetricType = 'counter' | 'gauge' | 'summary' | 'untyped' | 'histogram';

/** metrics.proto's MetricType enum. */
const METRIC_TYPE: Record<ProtoMetricType, number> = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 };

export interface ProtoExemplar {
  /** Label pairs, in the order they were given. */
  labels: ReadonlyArray<readonly [name: string, value: string]>;
  value: number;
  /** Unix seconds. */
  timestamp: number;
}

export interface ProtoBucket {
  upperBound: number;
  cumulativeCount: number;
  exemplar?: ProtoExemplar;
}

export interface ProtoHistogram {
  /** Observations: for a native histogram its count (zero bucket plus buckets), else the classic count (the +Inf bucket). */
  count: number;
  sum: number;
  /** Classic buckets, upper bounds ascending, cumulative counts; the +Inf bucket is implied by `count` (client_golang writes it only to carry an exemplar). */
  buckets: readonly ProtoBucket[];
  /** The native (exponential) part. */
  native?: NativeHistogramData;
  /** A native histogram's exemplars (Histogram.exemplars, which must have timestamps). */
  exemplars?: readonly ProtoExemplar[];
}

export interface ProtoMetric {
  /** Label pairs, in the order written (callers sort them by name). */
  labels: ReadonlyArray<readonly [name: string, value: string]>;
  /** counter, gauge and untyped: the value. */
  value?: number;
  /** A counter's latest exemplar. */
  exemplar?: ProtoExemplar;
  summary?: { count: number; sum: number; quantiles: ReadonlyArray<readonly [quantile: number, value: number]> };
  histogram?: ProtoHistogram;
}

export interface ProtoFamily {
  name: string;
  help: string;
  type: ProtoMetricType;
  metrics: readonly ProtoMetric[];
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
/** The largest double below 2^64: the largest count a uint64 field takes from a number. */
const MAX_WHOLE = 2 ** 64 - 2 ** 11;

/** Bytes of the varint of `n` (a non-negative integer). */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/**
 * A growing buffer of protobuf fields. A nested message is begun with one
 * byte kept for its length; end() writes the length there, moving the
 * message up when the length needs more bytes (only messages of 128 bytes or
 * more: their content is moved once per nesting level).
 */
/** The writers' buffer, kept between scrapes so that it grows once, not at every scrape; one that grew past this is let go. */
let keptBuffer: Buffer | undefined;
const MAX_KEPT_BYTES = 1 << 24;

class ProtoWriter {
  private buffer = keptBuffer ?? Buffer.allocUnsafe(1 << 16);
  private at = 0;
  private readonly starts: number[] = [];

  private ensure(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (this.at + bytes > size) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }

  /** A non-negative integer up to 2^64 (exact up to 2^53, as numbers are). */
  private varint(n: number): void {
    this.ensure(10);
    const buffer = this.buffer;
    if (n < 128) {
      buffer[this.at++] = n;
      return;
    }
    if (n < 2 ** 31) {
      // Below 2^31 the bit operators are exact: no division.
      while (n >= 128) {
        buffer[this.at++] = (n & 127) | 128;
        n >>>= 7;
      }
      buffer[this.at++] = n;
      return;
    }
    while (n >= 128) {
      buffer[this.at++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    buffer[this.at++] = n;
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  uint(field: number, n: number): void {
    this.tag(field, VARINT);
    this.varint(n);
  }

  /** sint32 and sint64 (an integer within +-2^53): zigzag, so that small negative numbers stay short. */
  sint(field: number, n: number): void {
    this.tag(field, VARINT);
    const magnitude = Math.abs(n);
    if (magnitude < 2 ** 52) {
      this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
      return;
    }
    // The zigzag value 2|n| (- 1 when negative) reaches past 2^53, where a double holds no odd number:
    // its low 7 bits are made from |n|'s low 6, the rest is |n| / 64, exact.
    const sign = n < 0 ? 1 : 0;
    let low = (magnitude % 64) * 2 - sign;
    let high = Math.floor(magnitude / 64);
    if (low < 0) {
      low += 128;
      high -= 1;
    }
    this.ensure(1);
    this.buffer[this.at++] = low | 128;
    this.varint(high);
  }

  double(field: number, x: number): void {
    this.tag(field, FIXED64);
    this.ensure(8);
    this.buffer.writeDoubleLE(x, this.at);
    this.at += 8;
  }

  string(field: number, text: string): void {
    this.tag(field, LENGTH_DELIMITED);
    // Short ASCII text (names, most label values) copied in a loop: Buffer.write() costs more per call than such a copy.
    if (text.length < 128) {
      this.ensure(text.length + 1);
      const buffer = this.buffer;
      const lengthAt = this.at;
      let at = lengthAt + 1;
      let i = 0;
      for (; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 128) break;
        buffer[at++] = code;
      }
      if (i === text.length) {
        buffer[lengthAt] = text.length;
        this.at = at;
        return;
      }
    }
    const length = Buffer.byteLength(text, 'utf8');
    this.varint(length);
    this.ensure(length);
    this.at += this.buffer.write(text, this.at, length, 'utf8');
  }

  /** Starts a nested message in `field`, or (no field) a delimited top-level one. */
  begin(field?: number): void {
    if (field !== undefined) this.tag(field, LENGTH_DELIMITED);
    this.ensure(1);
    this.starts.push(this.at);
    this.at += 1;
  }

  end(): void {
    const start = this.starts.pop()!;
    const length = this.at - start - 1;
    const size = varintSize(length);
    if (size > 1) {
      this.ensure(size - 1);
      this.buffer.copyWithin(start + size, start + 1, this.at);
    }
    // The length goes into the bytes kept for it: written in place, as nothing may grow the buffer now.
    let n = length;
    let at = start;
    while (n >= 128) {
      this.buffer[at++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buffer[at] = n;
    this.at += size - 1;
  }

  /** The bytes written, in a buffer of their own (the writer's is used again). */
  take(): Buffer {
    const bytes = Buffer.allocUnsafe(this.at);
    this.buffer.copy(bytes, 0, 0, this.at);
    keptBuffer = this.buffer.length <= MAX_KEPT_BYTES ? this.buffer : undefined;
    return bytes;
  }
}

/**
 * Whether `n` goes to an integer count field (uint64, or a native side's
 * sint64 deltas); otherwise it goes to the field's double twin. Only whole
 * numbers below 2^53: a double above that is no exact count (the additions
 * that made it rounded), and a delta between two counts of up to 2^64 would
 * not fit a sint64 once zigzagged.
 */
function isWholeCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * Whether a native histogram goes as an integer histogram (sample_count,
 * zero_count, deltas) rather than a float one (sample_count_float,
 * zero_count_float, absolute counts). Prometheus reads the whole histogram
 * as float when sample_count_float or zero_count_float is set, as integer
 * otherwise, and then checks in int64 that the count is the sum of the
 * buckets: so integers only when every count is a whole number up to 2^53,
 * which deltas between doubles carry exactly.
 */
function isIntegerHistogram(count: number, native: NativeHistogramData): boolean {
  if (!Number.isSafeInteger(count) || count < 0 || !Number.isSafeInteger(native.zeroCount) || native.zeroCount < 0) return false;
  for (const side of [native.positive, native.negative]) for (const [, c] of side) if (!Number.isSafeInteger(c) || c < 0) return false;
  return true;
}

/**
 * A side's buckets as spans and deltas: a span per run of consecutive
 * indexes (its offset the gap to the previous span, the first one's its
 * index), deltas from each bucket's count to the previous one's, across
 * spans (the first from 0), in an integer histogram (sint64); in a float
 * one the absolute counts.
 */
function writeNativeSide(out: ProtoWriter, spanField: number, deltaField: number, countField: number, buckets: NativeHistogramData['positive'], integer: boolean): void {
  let runStart = 0;
  for (let i = 0; i < buckets.length; i++) {
    if (i + 1 < buckets.length && buckets[i + 1][0] === buckets[i][0] + 1) continue;
    const offset = runStart === 0 ? buckets[0][0] : buckets[runStart][0] - buckets[runStart - 1][0] - 1;
    out.begin(spanField);
    out.sint(1, offset);
    out.uint(2, i + 1 - runStart);
    out.end();
    runStart = i + 1;
  }
  if (integer) {
    let previous = 0;
    for (let i = 0; i < buckets.length; i++) {
      const count = buckets[i][1];
      out.sint(deltaField, count - previous);
      previous = count;
    }
  } else {
    for (let i = 0; i < buckets.length; i++) out.double(countField, buckets[i][1]);
  }
}

function writeExemplar(out: ProtoWriter, field: number, exemplar: ProtoExemplar): void {
  out.begin(field);
  writeLabels(out, exemplar.labels);
  out.double(2, exemplar.value);
  // From whole milliseconds (what an exemplar's time is: Date.now() / 1000), not from the fraction of
  // the seconds: that carries the double's error (x.123 is x.12299..), and Prometheus truncates nanos to
  // milliseconds, which would put the exemplar 1 ms early. A time before 1970 or not a time at all
  // (no exemplar of ours) is written as 0: the fields are written as uints.
  const ms = Math.round(exemplar.timestamp * 1000);
  const seconds = Math.floor(ms / 1000);
  out.begin(3);
  if (Number.isSafeInteger(ms) && ms >= 0) {
    out.uint(1, seconds);
    out.uint(2, (ms - seconds * 1000) * 1e6);
  } else {
    out.uint(1, 0);
    out.uint(2, 0);
  }
  out.end();
  out.end();
}

function writeLabels(out: ProtoWriter, labels: ProtoMetric['labels']): void {
  for (const [name, value] of labels) {
    out.begin(1);
    out.string(1, name);
    out.string(2, value);
    out.end();
  }
}

function writeHistogram(out: ProtoWriter, histogram: ProtoHistogram): void {
  const { count, native } = histogram;
  // A whole count goes in sample_count (1); any other in sample_count_float (4), written after the buckets (3) to keep field order.
  // A native histogram is integer or float as a whole (isIntegerHistogram).
  const wholeCount = native ? isIntegerHistogram(count, native) : isWholeCount(count);
  if (wholeCount) out.uint(1, count);
  out.double(2, histogram.sum);
  for (const { upperBound, cumulativeCount, exemplar } of histogram.buckets) {
    out.begin(3);
    if (isWholeCount(cumulativeCount)) out.uint(1, cumulativeCount);
    out.double(2, upperBound);
    if (exemplar) writeExemplar(out, 3, exemplar);
    if (!isWholeCount(cumulativeCount)) out.double(4, cumulativeCount);
    out.end();
  }
  if (!wholeCount) out.double(4, count);
  if (!native) return;
  out.sint(5, native.schema);
  out.double(6, native.zeroThreshold);
  if (wholeCount) out.uint(7, native.zeroCount);
  else out.double(8, native.zeroCount);
  writeNativeSide(out, 9, 10, 11, native.negative, wholeCount);
  if (native.positive.length === 0 && native.negative.length === 0 && native.zeroThreshold === 0 && native.zeroCount === 0) {
    // metrics.proto: a native histogram without observations and a zero threshold of 0 carries a no-op span, or it reads as a classic one.
    out.begin(12);
    out.sint(1, 0);
    out.uint(2, 0);
    out.end();
  }
  writeNativeSide(out, 12, 13, 14, native.positive, wholeCount);
  for (const exemplar of histogram.exemplars ?? []) writeExemplar(out, 16, exemplar);
}

function writeMetric(out: ProtoWriter, type: ProtoMetricType, metric: ProtoMetric): void {
  writeLabels(out, metric.labels);
  if (type === 'counter' || type === 'gauge' || type === 'untyped') {
    out.begin(type === 'gauge' ? 2 : type === 'counter' ? 3 : 5);
    out.double(1, metric.value ?? 0);
    if (type === 'counter' && metric.exemplar) writeExemplar(out, 2, metric.exemplar);
    out.end();
  } else if (type === 'summary') {
    const summary = metric.summary ?? { count: 0, sum: 0, quantiles: [] };
    out.begin(4);
    // Summary has no double twin of its count: a count that is not whole (never one of ours) is rounded, one that is no count at all is 0.
    out.uint(1, isWholeCount(summary.count) ? summary.count : Number.isFinite(summary.count) && summary.count > 0 ? Math.min(Math.round(summary.count), MAX_WHOLE) : 0);
    out.double(2, summary.sum);
    for (const [quantile, value] of summary.quantiles) {
      out.begin(3);
      out.double(1, quantile);
      out.double(2, value);
      out.end();
    }
    out.end();
  } else {
    out.begin(7);
    writeHistogram(out, metric.histogram ?? { count: 0, sum: 0, buckets: [] });
    out.end();
  }
}

/** `families` as one body of delimited MetricFamily messages. */
export function encodeMetricFamilies(families: readonly ProtoFamily[]): Buffer {
  const out = new ProtoWriter();
  for (const family of families) {
    out.begin();
    out.string(1, family.name);
    out.string(2, family.help);
    out.uint(3, METRIC_TYPE[family.type]);
    for (const metric of family.metrics) {
      out.begin(4);
      writeMetric(out, family.type, metric);
      out.end();
    }
    out.end();
  }
  return out.take();
}

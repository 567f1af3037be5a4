// Decodes a protobuf exposition with protobufjs against the tests' own copy of
// metrics.proto (test/fixtures/metrics.proto): a decoder that is not ours.
import * as path from 'node:path';
import protobuf from 'protobufjs';

const root = protobuf.loadSync(path.join(__dirname, '..', 'fixtures', 'metrics.proto'));
const MetricFamily = root.lookupType('io.prometheus.client.MetricFamily');

export interface DecodedSpan {
  offset?: number;
  length?: number;
}

export interface DecodedExemplar {
  label?: Array<{ name?: string; value?: string }>;
  value?: number;
  timestamp?: { seconds?: number; nanos?: number };
}

export interface DecodedHistogram {
  sampleCount?: number;
  sampleCountFloat?: number;
  sampleSum?: number;
  bucket?: Array<{ cumulativeCount?: number; cumulativeCountFloat?: number; upperBound?: number; exemplar?: DecodedExemplar }>;
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  zeroCountFloat?: number;
  negativeSpan?: DecodedSpan[];
  negativeDelta?: number[];
  negativeCount?: number[];
  positiveSpan?: DecodedSpan[];
  positiveDelta?: number[];
  positiveCount?: number[];
  exemplars?: DecodedExemplar[];
}

export interface DecodedMetric {
  label?: Array<{ name?: string; value?: string }>;
  gauge?: { value?: number };
  counter?: { value?: number; exemplar?: DecodedExemplar };
  untyped?: { value?: number };
  summary?: { sampleCount?: number; sampleSum?: number; quantile?: Array<{ quantile?: number; value?: number }> };
  histogram?: DecodedHistogram;
  timestampMs?: number;
}

export interface DecodedFamily {
  name?: string;
  help?: string;
  /** metrics.proto's MetricType: 0 counter, 1 gauge, 2 summary, 3 untyped, 4 histogram. */
  type?: number;
  metric?: DecodedMetric[];
}

/**
 * Every delimited MetricFamily of `body`, as plain objects holding only the
 * fields present on the wire (so a field written as 0 shows, one left out
 * does not); 64-bit integers as numbers.
 */
export function decodeFamilies(body: Uint8Array): DecodedFamily[] {
  const reader = protobuf.Reader.create(body);
  const families: DecodedFamily[] = [];
  while (reader.pos < reader.len) {
    const message = MetricFamily.decodeDelimited(reader);
    families.push(MetricFamily.toObject(message, { longs: Number, enums: Number, defaults: false, arrays: false }) as DecodedFamily);
  }
  return families;
}

/** A side's spans and deltas (or absolute counts) back to [index, count] pairs, as Prometheus reads them. */
export function bucketsOf(spans: DecodedSpan[] | undefined, deltas: number[] | undefined, counts?: number[]): Array<[number, number]> {
  const buckets: Array<[number, number]> = [];
  let index = 0;
  let count = 0;
  let at = 0;
  (spans ?? []).forEach((span, i) => {
    index += (span.offset ?? 0) + (i === 0 ? 0 : 1);
    for (let k = 0; k < (span.length ?? 0); k++, at++) {
      if (k > 0) index++;
      count = counts ? counts[at] : count + deltas![at];
      buckets.push([index, count]);
    }
  });
  assert(at === (counts ?? deltas ?? []).length, `spans cover ${at} buckets, ${(counts ?? deltas ?? []).length} counts given`);
  return buckets;
}

function assert(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

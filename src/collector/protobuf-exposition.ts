import { parseBound } from '../format/float.js';
import type { NativeHistogramData } from '../format/native-histogram.js';
import type { StoredExemplar } from '../format/exemplar-record.js';
import { encodeMetricFamilies, type ProtoBucket, type ProtoExemplar, type ProtoFamily, type ProtoMetric, type ProtoMetricType } from '../format/protobuf.js';
import { exposedFamilyName } from './exposition.js';
import { labelsKey, sortedNames, type Family, type Sample } from './family.js';

/**
 * Families as Prometheus' protobuf exposition (src/format/protobuf.ts has the
 * wire format): one Metric per label set, its samples gathered from the
 * family's, label pairs sorted by name as the merged text format writes
 * them. What Prometheus makes of each:
 *
 * - A family is named as the text format 0.0.4 names it: a counter
 *   `jobs_total` (or `jobs` for a counter declared so under prom-client's
 *   naming), since Prometheus names a protobuf counter's series by its
 *   family, adding nothing; a histogram or summary by its base name, to
 *   which Prometheus adds `_bucket`, `_sum` and `_count`.
 * - A histogram's classic buckets are its finite ones: the +Inf bucket is
 *   implied by the count, as client_golang writes it (so `buckets: []` with
 *   native buckets leaves no classic bucket). With a native part the count
 *   is the native count (the zero bucket and every bucket, which the
 *   collector computes from the buckets themselves): Prometheus takes a
 *   target down whose histogram count is below its buckets' sum. The
 *   collector reads native files after the classic ones, so that count is
 *   never below the classic buckets either.
 * - Exemplars (a counter's, a bucket's) go with their sample, labels in the
 *   order given; a native histogram's also in its `exemplars`. A +Inf
 *   bucket is written only to carry its exemplar, as client_golang does.
 * - A family without samples (declared, never observed) is left out, as
 *   client_golang leaves it out.
 */

/** One label set's samples, gathered. */
interface Group {
  labels: Array<[string, string]>;
  value?: number;
  exemplar?: ProtoExemplar;
  summary?: { count: number; sum: number; quantiles: Array<[number, number]> };
  histogram?: { count?: number; infBucket?: number; infExemplar?: ProtoExemplar; sum: number; buckets: ProtoBucket[]; native?: NativeHistogramData };
}

function protoExemplar(exemplar: StoredExemplar | undefined): ProtoExemplar | undefined {
  return exemplar && { labels: Object.entries(exemplar.labels), value: exemplar.value, timestamp: exemplar.timestamp };
}

function protoType(type: string): ProtoMetricType {
  return type === 'counter' || type === 'gauge' || type === 'summary' || type === 'histogram' ? type : 'untyped';
}

/** The group of `labels` (less the label `skip`: a bucket's `le`, a quantile's `quantile`), made when first met: label sets keep the family's order. */
function groupOf(groups: Map<string, Group>, labels: Readonly<Record<string, string>>, skip?: string): Group {
  const names = sortedNames(labels).filter((name) => name !== skip);
  const key = labelsKey(labels, names);
  let group = groups.get(key);
  if (!group) groups.set(key, (group = { labels: names.map((name) => [name, labels[name]]) }));
  return group;
}

function histogramOf(group: Group): NonNullable<Group['histogram']> {
  return (group.histogram ??= { sum: 0, buckets: [] });
}

function summaryOf(group: Group): NonNullable<Group['summary']> {
  return (group.summary ??= { count: 0, sum: 0, quantiles: [] });
}

function gather(family: Family): Map<string, Group> {
  const groups = new Map<string, Group>();
  const { name } = family;
  const type = protoType(family.type);
  for (const sample of family.samples) {
    if (type === 'histogram') {
      if (sample.name === `${name}_bucket`) {
        const bound = parseBound(sample.labels.le ?? '');
        const histogram = histogramOf(groupOf(groups, sample.labels, 'le'));
        const exemplar = protoExemplar(sample.exemplar);
        if (bound === Infinity) {
          histogram.infBucket = sample.value;
          histogram.infExemplar = exemplar;
        } else if (!Number.isNaN(bound)) histogram.buckets.push(exemplar ? { upperBound: bound, cumulativeCount: sample.value, exemplar } : { upperBound: bound, cumulativeCount: sample.value });
      } else if (sample.name === `${name}_sum`) histogramOf(groupOf(groups, sample.labels)).sum = sample.value;
      else if (sample.name === `${name}_count`) histogramOf(groupOf(groups, sample.labels)).count = sample.value;
    } else if (type === 'summary') {
      if (sample.name === `${name}_sum`) summaryOf(groupOf(groups, sample.labels)).sum = sample.value;
      else if (sample.name === `${name}_count`) summaryOf(groupOf(groups, sample.labels)).count = sample.value;
      else if (sample.name === name && sample.labels.quantile !== undefined) {
        summaryOf(groupOf(groups, sample.labels, 'quantile')).quantiles.push([Number(sample.labels.quantile), sample.value]);
      }
    } else if (isValueSample(family, sample)) {
      const group = groupOf(groups, sample.labels);
      group.value = sample.value;
      if (type === 'counter' && sample.exemplar) group.exemplar = protoExemplar(sample.exemplar);
    }
  }
  if (type === 'histogram') for (const { labels, histogram } of family.native ?? []) histogramOf(groupOf(groups, labels)).native = histogram;
  return groups;
}

function metricOf(group: Group): ProtoMetric {
  const { labels, histogram } = group;
  if (group.summary) return { labels, summary: group.summary };
  if (!histogram) return group.exemplar ? { labels, value: group.value ?? 0, exemplar: group.exemplar } : { labels, value: group.value ?? 0 };
  const { native, sum, infExemplar } = histogram;
  const buckets = histogram.buckets.sort((a, b) => a.upperBound - b.upperBound);
  // The native count when there is a native part (see above); else _count, or the +Inf bucket that equals it.
  const count = native ? native.count : (histogram.count ?? histogram.infBucket ?? 0);
  if (infExemplar) buckets.push({ upperBound: Infinity, cumulativeCount: count, exemplar: infExemplar });
  if (!native) return { labels, histogram: { count, sum, buckets } };
  const exemplars = buckets.flatMap((bucket) => (bucket.exemplar ? [bucket.exemplar] : []));
  return { labels, histogram: exemplars.length > 0 ? { count, sum, buckets, native, exemplars } : { count, sum, buckets, native } };
}

/** A counter's, gauge's or untyped family's value sample (a counter's `_created`, were there one, is not its value). */
function isValueSample(family: Family, sample: Sample): boolean {
  if (family.type === 'counter') return sample.name === `${family.name}_total` || sample.name === family.name;
  if (family.type === 'gauge') return sample.name === family.name;
  return true;
}

/** `families` as one protobuf exposition body. */
export function protobufExposition(families: readonly Family[]): Buffer {
  const proto: ProtoFamily[] = [];
  for (const family of families) {
    const metrics = [...gather(family).values()].map(metricOf);
    if (metrics.length === 0) continue;
    proto.push({ name: exposedFamilyName(family.name, family.type, 'prometheus', family.bare), help: family.help, type: protoType(family.type), metrics });
  }
  return encodeMetricFamilies(proto);
}

import type { MetricType } from '../format/names.js';
import type { NativeHistogramData } from '../format/native-histogram.js';
import type { StoredExemplar } from '../format/exemplar-record.js';
import type { MetricSnapshot } from './metric-text.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The latest exemplar of the series (a counter's sample, a histogram's bucket), over every process; exported in OpenMetrics and protobuf. */
  exemplar?: StoredExemplar;
}

export interface Family {
  /** The family name as stored in the keys (a counter's without `_total`). */
  name: string;
  type: MetricType;
  help: string;
  /** Grouped per label set (a histogram's buckets, sum and count together), in a stable order. */
  samples: Sample[];
  /** A counter whose samples are named by the family alone (`jobs`), as prom-client's text format names a counter declared without `_total`. */
  bare?: boolean;
  /** The get() result of a metric object that is not ours, which this family was made from: written as prom-client writes it. */
  snapshot?: MetricSnapshot;
  /** A histogram's native (exponential) part, per label set, beside its classic samples; exposed only in the protobuf format. */
  native?: Array<{ labels: Record<string, string>; histogram: NativeHistogramData }>;
}

/** The label names of `labels`, sorted; sorting is skipped when they already are (Python writes keys sorted). */
export function sortedNames(labels: Record<string, string>): string[] {
  const names = Object.keys(labels);
  for (let i = 1; i < names.length; i++) {
    if (names[i - 1] > names[i]) return names.sort();
  }
  return names;
}

const NAME_END = '\u0000';
const VALUE_END = '\u0001';
const ESCAPE = '\u0002';

/**
 * A label set as one string, equal for equal sets and different for
 * different ones, that sorts like the sorted set: per label in name order,
 * the name, \u0000, the value, \u0001. Names cannot hold either (they follow
 * Prometheus' rule); in a value, \u0001 and the escape \u0002 get a \u0002
 * before them, so no value can end a label early. Values without them (all
 * ordinary ones) are copied as they are.
 */
export function labelsKey(labels: Record<string, string>, names = sortedNames(labels)): string {
  let key = '';
  for (const name of names) {
    const value = labels[name];
    const escaped = value.indexOf(VALUE_END) === -1 && value.indexOf(ESCAPE) === -1 ? value : value.replace(/[\u0001\u0002]/g, `${ESCAPE}$&`);
    key += `${name}${NAME_END}${escaped}${VALUE_END}`;
  }
  return key;
}

/** The label set a labelsKey() was made from. */
export function labelsFromKey(key: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const escaped = key.indexOf(ESCAPE) !== -1;
  for (let at = 0; at < key.length; ) {
    const nameEnd = key.indexOf(NAME_END, at);
    let valueEnd: number;
    let value: string;
    if (!escaped) {
      valueEnd = key.indexOf(VALUE_END, nameEnd);
      value = key.slice(nameEnd + 1, valueEnd);
    } else {
      value = '';
      for (valueEnd = nameEnd + 1; key[valueEnd] !== VALUE_END; valueEnd++) {
        if (key[valueEnd] === ESCAPE) valueEnd++;
        value += key[valueEnd];
      }
    }
    labels[key.slice(at, nameEnd)] = value;
    at = valueEnd + 1;
  }
  return labels;
}

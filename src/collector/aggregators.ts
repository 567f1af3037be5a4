import { ValidationError } from '../errors.js';
import type { MetricJSON } from './registry.js';

/**
 * prom-client's aggregators: how its cluster mode merged one metric's
 * getMetricsAsJSON() results from several workers. Here they serve
 * AggregatorRegistry.aggregate() and code that calls them directly; the
 * files merge by each metric's multiprocess mode instead (format/merge.ts).
 */

type Sample = MetricJSON['values'][number];
export type AggregatorFunction = (metrics: readonly MetricJSON[]) => MetricJSON | undefined;

/** One label set as one string, equal for equal sets in any key order (undefined values left out). */
function labelSetKey(labels: Readonly<Record<string, unknown>>): string {
  let key = '';
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name];
    if (value !== undefined) key += `${name}:${String(value)},`;
  }
  return key;
}

/**
 * An aggregator that groups the samples of all `metrics` by sample name and
 * label set and reduces each group with `reduce` (prom-client's
 * AggregatorFactory). Timestamps and exemplars are left out.
 */
export function AggregatorFactory(reduce: (samples: readonly Sample[]) => number): AggregatorFunction {
  return (metrics) => {
    if (metrics.length === 0) return undefined;
    const [first] = metrics;
    const groups = new Map<string, Sample[]>();
    for (const metric of metrics) {
      for (const sample of metric.values) {
        const key = `${sample.metricName}_${labelSetKey(sample.labels)}`;
        const group = groups.get(key);
        if (group) group.push(sample);
        else groups.set(key, [sample]);
      }
    }
    const values: Sample[] = [];
    for (const group of groups.values()) {
      const merged: Sample = { value: reduce(group), labels: group[0].labels };
      if (group[0].metricName) merged.metricName = group[0].metricName;
      values.push(merged);
    }
    return { help: first.help, name: first.name, type: first.type, values, aggregator: first.aggregator };
  };
}

export const aggregators: Readonly<Record<'sum' | 'first' | 'omit' | 'average' | 'min' | 'max', AggregatorFunction>> = {
  sum: AggregatorFactory((samples) => samples.reduce((total, s) => total + s.value, 0)),
  first: AggregatorFactory((samples) => samples[0].value),
  omit: () => undefined,
  average: AggregatorFactory((samples) => samples.reduce((total, s) => total + s.value, 0) / samples.length),
  min: AggregatorFactory((samples) => samples.reduce((low, s) => Math.min(low, s.value), Infinity)),
  max: AggregatorFactory((samples) => samples.reduce((high, s) => Math.max(high, s.value), -Infinity)),
};

/** The aggregator named `name`; throws ValidationError for one that does not exist. */
export function aggregatorNamed(name: unknown): AggregatorFunction {
  const found = typeof name === 'string' && Object.prototype.hasOwnProperty.call(aggregators, name) ? aggregators[name as keyof typeof aggregators] : undefined;
  if (!found) throw new ValidationError(`'${String(name)}' is not a defined aggregator.`);
  return found;
}

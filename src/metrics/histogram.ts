import type { HistogramConfiguration } from 'prom-client';
import { showValue, ValidationError } from '../errors.js';
import { formatPrometheusFloat } from '../format/float.js';
import type { Region } from '../storage/entry-file.js';
import { Child } from './child.js';
import type { EntrySpec, MetricIdentity } from './descriptor.js';
import type { PromValue } from './metric.js';
import { ObservedMetric, observation } from './observed.js';
import { labelledTimer } from './timer.js';

/** prom-client's default buckets (Python's differ; name them when mixing clients). */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class HistogramChild extends Child {
  private sumSlot = 0;
  /** One slot per bound, +Inf last. Entries hold non-cumulative counts. */
  private readonly bucketSlots: Int32Array;

  constructor(
    metric: MetricIdentity,
    labelValues: readonly string[],
    private readonly bounds: Float64Array,
  ) {
    super(metric, labelValues);
    this.bucketSlots = new Int32Array(bounds.length + 1);
  }

  rebind(region: Region, slots: readonly number[]): void {
    this.region = region;
    this.sumSlot = slots[0];
    for (let i = 0; i < this.bucketSlots.length; i++) this.bucketSlots[i] = slots[i + 1];
  }

  slots(): number[] {
    return [this.sumSlot, ...this.bucketSlots];
  }

  observe(value: number): void {
    const observed = observation(this.metric, value);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && observed > bounds[i]) i++;
    const values = this.region.values;
    values[this.bucketSlots[i]] += 1;
    values[this.sumSlot] += observed;
  }

  startTimer(): () => number {
    return labelledTimer(undefined, (_labels, seconds) => this.observe(seconds));
  }

  get sum(): number {
    return this.region.values[this.sumSlot];
  }

  /** Non-cumulative count of bucket i (the last is +Inf). */
  bucketCount(i: number): number {
    return this.region.values[this.bucketSlots[i]];
  }
}

export interface HistogramOptions<T extends string> extends Omit<HistogramConfiguration<T>, 'collect' | 'enableExemplars'> {}

/** The upper bounds of `buckets`: finite numbers in increasing order; a last +Inf is dropped (that bucket is always there). */
function checkedBounds(metric: string, buckets: unknown): number[] {
  if (!Array.isArray(buckets)) throw new ValidationError(`Histogram ${metric}: buckets must be an array of numbers, got ${showValue(buckets)}`);
  const bounds: unknown[] = [...(buckets as unknown[])];
  if (bounds[bounds.length - 1] === Infinity) bounds.pop();
  bounds.forEach((bound, i) => {
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new ValidationError(`Histogram ${metric}: buckets must be finite numbers (a last +Inf is allowed), got ${showValue(bound)} at index ${i}`);
    }
    if (i > 0 && !(bound > (bounds[i - 1] as number))) {
      throw new ValidationError(`Histogram ${metric}: buckets must be in increasing order, got ${bound} after ${bounds[i - 1] as number} at index ${i}`);
    }
  });
  return bounds as number[];
}

export class Histogram<T extends string = string> extends ObservedMetric<T, HistogramChild> {
  readonly buckets: readonly number[];
  constructor(config: HistogramOptions<T>) {
    let buckets: number[] = [];
    super('histogram', config, ['le'], ({ name }) => {
      buckets = checkedBounds(name, config.buckets === undefined ? DEFAULT_BUCKETS : config.buckets);
      const bounds = Float64Array.from(buckets);
      return {
        specs: [
          { sampleName: `${name}_sum` },
          ...[...buckets, Infinity].map((b): EntrySpec => ({ sampleName: `${name}_bucket`, extraLabel: ['le', formatPrometheusFloat(b)] })),
        ],
        newChild: (metric, labelValues) => new HistogramChild(metric, labelValues, bounds),
      };
    });
    this.buckets = buckets;
  }

  protected collectChild(child: HistogramChild, into: PromValue[]): void {
    const labels = this.labelsObject(child);
    let cumulative = 0;
    const bounds = [...this.buckets, Infinity];
    bounds.forEach((bound, i) => {
      cumulative += child.bucketCount(i);
      into.push({ value: cumulative, labels: { ...labels, le: bound === Infinity ? '+Inf' : bound }, metricName: `${this.name}_bucket` });
    });
    into.push({ value: child.sum, labels, metricName: `${this.name}_sum` });
    into.push({ value: cumulative, labels, metricName: `${this.name}_count` });
  }
}

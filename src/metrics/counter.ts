import type { CounterConfiguration } from 'prom-client';
import { SingleSlotChild } from './child.js';
import { valueRefused, type LabelValues, type MetricIdentity } from './descriptor.js';
import { Metric, type PromValue } from './metric.js';

/**
 * What inc(amount) adds: 1 when omitted, else a finite number >= 0.
 * prom-client checks `value && !Number.isFinite(value)`, which lets every
 * falsy value through: we refuse NaN, which would stay in the counter (and in
 * every sum over processes) for good, and '', false and null, which are not
 * numbers.
 */
function increment(metric: MetricIdentity, amount: unknown): number {
  if (amount === undefined) return 1;
  if (typeof amount === 'number' && amount >= 0 && amount !== Infinity) return amount;
  throw valueRefused(metric, 'inc()', 'a finite number >= 0', amount);
}

export class CounterChild extends SingleSlotChild {
  inc(amount?: number): void {
    this.region.values[this.slot] += increment(this.metric, amount);
  }
}

export type CounterOptions<T extends string> = Omit<CounterConfiguration<T>, 'collect' | 'enableExemplars'>;

/**
 * prom-client's Counter. The sample is always named `<family>_total`: a
 * counter declared `jobs` is exported as `jobs_total` (as in Python and
 * OpenMetrics), where prom-client would export `jobs`.
 */
export class Counter<T extends string = string> extends Metric<T, CounterChild> {
  constructor(config: CounterOptions<T>) {
    super('counter', config, [], (descriptor) => ({
      specs: [{ sampleName: `${descriptor.family}_total` }],
      newChild: (metric, labelValues) => new CounterChild(metric, labelValues),
    }));
  }

  inc(labels: LabelValues<T>, value?: number): void;
  inc(value?: number): void;
  inc(labelsOrValue?: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object') {
      const amount = increment(this, value); // before childFor: a refused call creates no series
      this.childFor(labelsOrValue).inc(amount);
    } else {
      this.unlabelledChild().inc(labelsOrValue);
    }
  }

  protected collectChild(child: CounterChild, into: PromValue[]): void {
    into.push({ value: child.value, labels: this.labelsObject(child) });
  }
}

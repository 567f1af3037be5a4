import type { CounterConfiguration } from 'prom-client';
import { ValidationError } from '../errors.js';
import { Metric, SingleSlotChild, type LabelValues, type PromValue } from './metric.js';

export class CounterChild extends SingleSlotChild {
  inc(amount = 1): void {
    if (!(amount >= 0) || amount === Infinity) {
      throw new ValidationError(`Counter ${this.metric.name}: increment must be a finite number >= 0, got ${amount}`);
    }
    this.region.values[this.slot] += amount;
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
    super('counter', config, []);
    this.specs = [{ sampleName: `${this.family}_total` }];
    this.initialize();
  }

  inc(labels: LabelValues<T>, value?: number): void;
  inc(value?: number): void;
  inc(labelsOrValue?: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object') this.childFor(labelsOrValue).inc(value);
    else this.unlabelledChild().inc(labelsOrValue);
  }

  protected createChild(labelValues: readonly string[]): CounterChild {
    return new CounterChild(this, labelValues);
  }

  protected collectChild(child: CounterChild, into: PromValue[]): void {
    into.push({ value: child.value, labels: this.labelsObject(child) });
  }
}

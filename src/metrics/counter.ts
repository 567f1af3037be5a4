import type { CounterConfiguration } from 'prom-client';
import { ValidationError } from '../errors.js';
import type { Region } from '../storage/entry-file.js';
import { Child, Metric, type EntrySpec, type LabelValues, type PromValue } from './metric.js';

export class CounterChild extends Child {
  private slot = 0;

  rebind(region: Region, slots: readonly number[]): void {
    this.region = region;
    this.slot = slots[0];
  }

  slots(): number[] {
    return [this.slot];
  }

  inc(amount = 1): void {
    if (!(amount >= 0) || amount === Infinity) {
      throw new ValidationError(`Counter ${this.metric.name}: increment must be a finite number >= 0, got ${amount}`);
    }
    this.region.values[this.slot] += amount;
  }

  get value(): number {
    return this.region.values[this.slot];
  }
}

export type CounterOptions<T extends string> = Omit<CounterConfiguration<T>, 'collect' | 'enableExemplars'>;

/**
 * prom-client's Counter. The sample is always named `<family>_total`: a
 * counter declared `jobs` is exported as `jobs_total` (as in Python and
 * OpenMetrics), where prom-client would export `jobs`.
 */
export class Counter<T extends string = string> extends Metric<T, CounterChild> {
  private readonly specs: EntrySpec[];

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

  labels(...values: Array<string | number>): CounterChild;
  labels(labels: LabelValues<T>): CounterChild;
  labels(...args: unknown[]): CounterChild {
    return this.resolveChild(args);
  }

  /** Creates the series if needed and sets this process's value to 0. */
  zero(labels?: LabelValues<T>): void {
    (labels ? this.childFor(labels) : this.unlabelledChild()).zeroSlots();
  }

  protected entrySpecs(): readonly EntrySpec[] {
    return this.specs;
  }

  protected createChild(labelValues: readonly string[]): CounterChild {
    return new CounterChild(this, labelValues);
  }

  protected collectChild(child: CounterChild, into: PromValue[]): void {
    into.push({ value: child.value, labels: this.labelsObject(child) });
  }
}

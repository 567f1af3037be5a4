import type { SummaryConfiguration } from 'prom-client';
import { ValidationError } from '../errors.js';
import type { Region } from '../storage/entry-file.js';
import { Child, Metric, type EntrySpec, type LabelValues, type PromValue } from './metric.js';
import { labelledTimer } from './timer.js';

export class SummaryChild extends Child {
  private countSlot = 0;
  private sumSlot = 0;

  rebind(region: Region, slots: readonly number[]): void {
    this.region = region;
    this.countSlot = slots[0];
    this.sumSlot = slots[1];
  }

  slots(): number[] {
    return [this.countSlot, this.sumSlot];
  }

  observe(value: number): void {
    if (typeof value !== 'number' || value !== value) {
      throw new ValidationError(`Summary ${this.metric.name}: observe() needs a number, got ${String(value)}`);
    }
    const values = this.region.values;
    values[this.countSlot] += 1;
    values[this.sumSlot] += value;
  }

  startTimer(): () => number {
    return labelledTimer(undefined, (_labels, seconds) => this.observe(seconds));
  }

  get count(): number {
    return this.region.values[this.countSlot];
  }

  get sum(): number {
    return this.region.values[this.sumSlot];
  }
}

/** prom-client's options are accepted; percentiles, maxAgeSeconds and ageBuckets are ignored: only _count and _sum are stored. */
export interface SummaryOptions<T extends string> extends Omit<SummaryConfiguration<T>, 'collect' | 'enableExemplars'> {}

export class Summary<T extends string = string> extends Metric<T, SummaryChild> {
  private readonly specs: EntrySpec[];

  constructor(config: SummaryOptions<T>) {
    super('summary', config, ['quantile']);
    this.specs = [{ sampleName: `${this.name}_count` }, { sampleName: `${this.name}_sum` }];
    this.initialize();
  }

  observe(labels: LabelValues<T>, value: number): void;
  observe(value: number): void;
  observe(labelsOrValue: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object') this.childFor(labelsOrValue).observe(value as number);
    else this.unlabelledChild().observe(labelsOrValue);
  }

  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number {
    return labelledTimer(labels, (all, seconds) => (all ? this.childFor(all) : this.unlabelledChild()).observe(seconds));
  }

  labels(...values: Array<string | number>): SummaryChild;
  labels(labels: LabelValues<T>): SummaryChild;
  labels(...args: unknown[]): SummaryChild {
    return this.resolveChild(args);
  }

  zero(labels?: LabelValues<T>): void {
    (labels ? this.childFor(labels) : this.unlabelledChild()).zeroSlots();
  }

  protected entrySpecs(): readonly EntrySpec[] {
    return this.specs;
  }

  protected createChild(labelValues: readonly string[]): SummaryChild {
    return new SummaryChild(this, labelValues);
  }

  protected collectChild(child: SummaryChild, into: PromValue[]): void {
    const labels = this.labelsObject(child);
    into.push({ value: child.count, labels, metricName: `${this.name}_count` });
    into.push({ value: child.sum, labels, metricName: `${this.name}_sum` });
  }
}

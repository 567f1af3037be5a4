import type { SummaryConfiguration } from 'prom-client';
import { showValue, ValidationError } from '../errors.js';
import type { Region } from '../storage/entry-file.js';
import { Child } from './child.js';
import type { PromValue } from './metric.js';
import { ObservedMetric, observation } from './observed.js';
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
    const observed = observation(this.metric, value);
    const values = this.region.values;
    values[this.countSlot] += 1;
    values[this.sumSlot] += observed;
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

export class Summary<T extends string = string> extends ObservedMetric<T, SummaryChild> {
  constructor(config: SummaryOptions<T>) {
    super('summary', config, ['quantile'], ({ name }) => {
      // Not used yet (only _count and _sum are stored), but checked, so that a mistake shows now.
      const percentiles: unknown = config.percentiles;
      if (percentiles !== undefined && !(Array.isArray(percentiles) && percentiles.every((p) => typeof p === 'number' && p >= 0 && p <= 1))) {
        throw new ValidationError(`Summary ${name}: percentiles must be an array of numbers in [0, 1], got ${showValue(percentiles)}`);
      }
      return {
        specs: [{ sampleName: `${name}_count` }, { sampleName: `${name}_sum` }],
        newChild: (metric, labelValues) => new SummaryChild(metric, labelValues),
      };
    });
  }

  protected collectChild(child: SummaryChild, into: PromValue[]): void {
    const labels = this.labelsObject(child);
    into.push({ value: child.count, labels, metricName: `${this.name}_count` });
    into.push({ value: child.sum, labels, metricName: `${this.name}_sum` });
  }
}

import type { Child } from './child.js';
import { valueRefused, type LabelValues, type MetricIdentity } from './descriptor.js';
import { Metric } from './metric.js';
import { labelledTimer } from './timer.js';

/**
 * What observe() takes: a finite number, as prom-client requires. (Python
 * also takes infinities; one would make _sum infinite for good.)
 */
export function observation(metric: MetricIdentity, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw valueRefused(metric, 'observe()', 'a finite number', value);
}

/** A child that takes observations (histograms, summaries). */
interface ObservingChild extends Child {
  observe(value: number): void;
}

/** What histograms and summaries share: observe() and startTimer() on the metric. */
export abstract class ObservedMetric<T extends string, C extends ObservingChild> extends Metric<T, C> {
  observe(labels: LabelValues<T>, value: number): void;
  observe(value: number): void;
  observe(labelsOrValue: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object' && labelsOrValue !== null) {
      const observed = observation(this, value); // before childFor: a refused call creates no series
      this.childFor(labelsOrValue).observe(observed);
    } else {
      this.unlabelledChild().observe(labelsOrValue);
    }
  }

  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number {
    return labelledTimer(labels, (all, seconds) => this.observe((all ?? {}) as LabelValues<T>, seconds));
  }
}

import { Child, Metric, type LabelValues } from './metric.js';
import { labelledTimer } from './timer.js';

/** A child that takes observations (histograms, summaries). */
interface ObservingChild extends Child {
  observe(value: number): void;
}

/** What histograms and summaries share: observe() and startTimer() on the metric. */
export abstract class ObservedMetric<T extends string, C extends ObservingChild> extends Metric<T, C> {
  observe(labels: LabelValues<T>, value: number): void;
  observe(value: number): void;
  observe(labelsOrValue: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object') this.childFor(labelsOrValue).observe(value as number);
    else this.unlabelledChild().observe(labelsOrValue);
  }

  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number {
    return labelledTimer(labels, (all, seconds) => (all ? this.childFor(all) : this.unlabelledChild()).observe(seconds));
  }
}

import { SingleSlotChild } from './child.js';
import { valueRefused, type BaseConfiguration, type LabelValues, type MetricIdentity } from './descriptor.js';
import { checkExemplarLabels, newExemplar, type Exemplar } from './exemplars.js';
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
  exemplar: Exemplar | undefined;

  override clearExemplars(): void {
    this.exemplar = undefined;
    super.clearExemplars();
  }

  inc(amount?: number): void {
    const by = increment(this.metric, amount);
    const values = this.region.values;
    if (this.withdrawnAt(this.slot)) this.revive();
    values[this.slot] += by;
  }
}

/** prom-client's counter configuration. */
export interface CounterConfiguration<T extends string> extends BaseConfiguration<T, Counter<T>> {}

/** prom-client's inc() of a counter with exemplars: one object. */
export interface IncrementWithExemplar<T extends string> {
  labels?: LabelValues<T>;
  value?: number;
  exemplarLabels?: Record<string, string | number>;
}

/**
 * prom-client's Counter. Its sample is named as declared (`jobs` is
 * exported as `jobs` in the text format, `jobs_total` in OpenMetrics), or
 * `<name>_total` under configure({ naming: 'python' }).
 */
export class Counter<T extends string = string> extends Metric<T, CounterChild> {
  constructor(config: CounterConfiguration<T>) {
    super('counter', config as never, [], (descriptor) => ({
      specs: [{ sampleName: descriptor.counterSample }],
      newChild: (metric, labelValues) => new CounterChild(metric, labelValues),
    }));
    if (this.enableExemplars) this.inc = this.incWithExemplar as unknown as Counter<T>['inc'];
  }

  inc(labels: LabelValues<T>, value?: number): void;
  inc(value?: number): void;
  inc(options: IncrementWithExemplar<T>): void;
  inc(labelsOrValue?: LabelValues<T> | number | IncrementWithExemplar<T>, value?: number): void {
    if (typeof labelsOrValue === 'object' && labelsOrValue !== null) {
      const amount = increment(this, value); // before childFor: a refused call creates no series
      this.childFor(labelsOrValue as LabelValues<T>).inc(amount);
    } else {
      this.unlabelledChild().inc(labelsOrValue as number | undefined);
    }
  }

  /** inc() of a counter made with enableExemplars: prom-client's one-object form. */
  private incWithExemplar(options: IncrementWithExemplar<T> = {}): void {
    const { labels = {} as LabelValues<T>, value, exemplarLabels } = options;
    const amount = increment(this, value);
    const exemplar = exemplarLabels === undefined ? undefined : checkExemplarLabels(this, exemplarLabels);
    const child = this.childFor(labels);
    child.inc(amount);
    if (!exemplar) return;
    child.exemplar = newExemplar(exemplar, amount);
    this.storeExemplar(child, 0, child.exemplar);
  }

  protected collectChild(child: CounterChild, into: PromValue[]): void {
    into.push(child.exemplar ? { value: child.value, labels: child.labels, exemplar: child.exemplar } : { value: child.value, labels: child.labels });
  }
}

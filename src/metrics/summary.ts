import { showValue, ValidationError } from '../errors.js';
import { processStorage } from '../storage/process-storage.js';
import type { Region } from '../storage/entry-file.js';
import { Child, type ChildOwner } from './child.js';
import type { BaseConfiguration } from './descriptor.js';
import type { PromValue } from './metric.js';
import { ObservedMetric, observation } from './observed.js';
import { TimeWindowQuantiles } from './time-window-quantiles.js';
import { labelledTimer } from './timer.js';

/** prom-client's default percentiles. */
const DEFAULT_PERCENTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];
/** prom-client compresses a series' digests every this many observations. */
const DEFAULT_COMPRESS_COUNT = 1000;

interface QuantileOptions {
  maxAgeSeconds?: number;
  ageBuckets?: number;
  compressCount: number;
}

export class SummaryChild extends Child {
  private countSlot = 0;
  private sumSlot = 0;
  /** In-process mode: the series' quantile window (multiprocess files hold only _count and _sum). */
  readonly quantiles: TimeWindowQuantiles | undefined;

  constructor(
    metric: ChildOwner,
    labelValues: readonly (string | undefined)[],
    private readonly options: QuantileOptions | undefined,
  ) {
    super(metric, labelValues);
    this.quantiles = options && new TimeWindowQuantiles(options.maxAgeSeconds, options.ageBuckets);
  }

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
    if (this.withdrawnAt(this.countSlot)) this.revive();
    values[this.countSlot] += 1;
    values[this.sumSlot] += observed;
    const quantiles = this.quantiles;
    if (quantiles) {
      quantiles.push(observed);
      if (values[this.countSlot] % this.options!.compressCount === 0) quantiles.compress();
    }
  }

  override zeroSlots(): void {
    super.zeroSlots();
    this.quantiles?.reset();
  }

  override withdraw(): void {
    super.withdraw();
    this.quantiles?.reset();
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

/** prom-client's summary configuration. In multiprocess mode the quantile options are checked, and only _count and _sum are stored. */
export interface SummaryConfiguration<T extends string> extends BaseConfiguration<T, Summary<T>> {
  percentiles?: number[];
  maxAgeSeconds?: number;
  ageBuckets?: number;
  pruneAgedBuckets?: boolean;
  compressCount?: number;
}

function checkPositive(name: string, option: string, value: unknown, whole: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || (whole && !Number.isInteger(value))) {
    throw new ValidationError(`Summary ${name}: ${option} must be a ${whole ? 'whole ' : ''}number > 0, got ${showValue(value)}`);
  }
}

export class Summary<T extends string = string> extends ObservedMetric<T, SummaryChild> {
  readonly percentiles: readonly number[];
  private readonly pruneAgedBuckets: boolean;

  constructor(config: SummaryConfiguration<T>) {
    let percentiles = DEFAULT_PERCENTILES;
    super('summary', config as never, ['quantile'], ({ name }) => {
      const given: unknown = config.percentiles;
      if (given !== undefined && !(Array.isArray(given) && given.every((p) => typeof p === 'number' && p >= 0 && p <= 1))) {
        throw new ValidationError(`Summary ${name}: percentiles must be an array of numbers in [0, 1], got ${showValue(given)}`);
      }
      percentiles = (given as number[] | undefined) ?? DEFAULT_PERCENTILES;
      checkPositive(name, 'maxAgeSeconds', config.maxAgeSeconds, false);
      checkPositive(name, 'ageBuckets', config.ageBuckets, true);
      checkPositive(name, 'compressCount', config.compressCount, true);
      // Quantiles of one process are not those of the service: in multiprocess mode none are kept (docs/api.md).
      const options = processStorage().dir
        ? undefined
        : { maxAgeSeconds: config.maxAgeSeconds, ageBuckets: config.ageBuckets, compressCount: config.compressCount ?? DEFAULT_COMPRESS_COUNT };
      return {
        specs: [{ sampleName: `${name}_count` }, { sampleName: `${name}_sum` }],
        newChild: (metric, labelValues) => new SummaryChild(metric, labelValues, options),
      };
    });
    this.percentiles = percentiles;
    this.pruneAgedBuckets = config.pruneAgedBuckets === true;
  }

  /** As prom-client: reset() keeps every series, at 0 with empty quantile windows. */
  override reset(): void {
    for (const child of this.liveChildren()) child.zeroSlots();
  }

  protected collectChild(child: SummaryChild, into: PromValue[]): void {
    const labels = child.labels;
    const quantiles = child.quantiles;
    if (quantiles) {
      if (this.pruneAgedBuckets && quantiles.size() === 0) {
        this.remove(labels);
        return;
      }
      quantiles.compress();
      for (const percentile of this.percentiles) {
        into.push({ labels: { quantile: percentile, ...labels }, value: quantiles.percentile(percentile) || 0 });
      }
    }
    into.push({ metricName: `${this.name}_sum`, labels, value: child.sum });
    into.push({ metricName: `${this.name}_count`, labels, value: child.count });
  }
}

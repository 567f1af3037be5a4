import { showValue, ValidationError } from '../errors.js';
import { processStorage } from '../storage/process-storage.js';
import type { Region } from '../storage/entry-file.js';
import { Child, type ChildOwner } from './child.js';
import type { BaseConfiguration } from './descriptor.js';
import type { PromValue } from './metric.js';
import { ObservedMetric, observation } from './observed.js';
import { TimeWindowQuantiles } from './time-window-quantiles.js';
import { SummaryBuckets } from './summary-buckets.js';
import type { SeriesStore } from '../storage/series-store.js';
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
  /** In-process mode: the series' quantile window, prom-client's t-digests. */
  readonly quantiles: TimeWindowQuantiles | undefined;

  constructor(
    metric: ChildOwner,
    labelValues: readonly (string | undefined)[],
    private readonly options: QuantileOptions | undefined,
    /** Multiprocess mode with percentiles: the series' quantile buckets, in the summary sidecar file. */
    readonly buckets?: SummaryBuckets,
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
    let values = this.region.values;
    // Child.withdrawnAt(), written out with WITHDRAWN's value (-1): through the call, or with the
    // constant read from the module, V8 boxes a double per observation once the buckets are inlined.
    if (values[this.countSlot + 1] === -1) {
      this.revive();
      values = this.region.values;
    }
    values[this.countSlot] += 1;
    values[this.sumSlot] += observed;
    const buckets = this.buckets;
    if (buckets !== undefined) buckets.observe(observed);
    else if (this.quantiles !== undefined) this.digest(observed);
  }

  /** In-process mode: into prom-client's t-digests (apart, so that observe() stays small enough to inline with the buckets' lookup). */
  private digest(observed: number): void {
    const quantiles = this.quantiles!;
    quantiles.push(observed);
    if (this.region.values[this.countSlot] % this.options!.compressCount === 0) quantiles.compress();
  }

  override zeroSlots(): void {
    super.zeroSlots();
    this.quantiles?.reset();
    this.buckets?.zeroCounts();
  }

  override withdraw(): void {
    super.withdraw();
    this.quantiles?.reset();
    this.buckets?.withdraw();
  }

  override restore(): void {
    super.restore();
    this.buckets?.restore();
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

/**
 * prom-client's summary configuration. In multiprocess mode the quantiles
 * are read off log buckets that merge across processes (docs/api.md: within
 * SUMMARY_RELATIVE_ERROR); compressCount is checked and has nothing to do.
 */
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
    super('summary', config as never, ['quantile'], (descriptor) => {
      const { name } = descriptor;
      const given: unknown = config.percentiles;
      if (given !== undefined && !(Array.isArray(given) && given.every((p) => typeof p === 'number' && p >= 0 && p <= 1))) {
        throw new ValidationError(`Summary ${name}: percentiles must be an array of numbers in [0, 1], got ${showValue(given)}`);
      }
      percentiles = (given as number[] | undefined) ?? DEFAULT_PERCENTILES;
      checkPositive(name, 'maxAgeSeconds', config.maxAgeSeconds, false);
      checkPositive(name, 'ageBuckets', config.ageBuckets, true);
      checkPositive(name, 'compressCount', config.compressCount, true);
      const multiprocess = processStorage().dir !== undefined;
      const options = multiprocess
        ? undefined
        : { maxAgeSeconds: config.maxAgeSeconds, ageBuckets: config.ageBuckets, compressCount: config.compressCount ?? DEFAULT_COMPRESS_COUNT };
      // A t-digest of one process does not merge with another's: in multiprocess mode quantiles come from mergeable buckets.
      // A window needs both options, as prom-client's (one without the other keeps every observation).
      const windowed = Boolean(config.maxAgeSeconds && config.ageBuckets);
      const window = { maxAgeSeconds: windowed ? config.maxAgeSeconds! : 0, ageBuckets: windowed ? config.ageBuckets! : 0, percentiles };
      const quantiled = multiprocess && percentiles.length > 0;
      // One sidecar store per metric, made with its first series (this process's summary_<id>.nhdb).
      let bucketStore: SeriesStore | undefined;
      return {
        specs: [{ sampleName: `${name}_count` }, { sampleName: `${name}_sum` }],
        newChild: (metric, labelValues) => {
          if (!quantiled) return new SummaryChild(metric, labelValues, options);
          bucketStore ??= processStorage().storeFor('summary', false, true);
          const buckets = new SummaryBuckets(window, bucketStore, (entryName) => descriptor.nativeKey(labelValues, entryName));
          return new SummaryChild(metric, labelValues, undefined, buckets);
        },
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
    const buckets = child.buckets;
    if (buckets) {
      // This process's own quantiles (a scrape merges every process's buckets).
      const now = Date.now();
      if (this.pruneAgedBuckets && buckets.countInWindow(now) === 0) {
        this.remove(labels);
        return;
      }
      const values = buckets.quantiles(now);
      this.percentiles.forEach((percentile, i) => into.push({ labels: { quantile: percentile, ...labels }, value: values[i] }));
    }
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

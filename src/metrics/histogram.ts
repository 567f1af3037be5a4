import { showValue, ValidationError } from '../errors.js';
import { formatPrometheusFloat } from '../format/float.js';
import type { Region } from '../storage/entry-file.js';
import { Child, type ChildOwner } from './child.js';
import type { BaseConfiguration, EntrySpec, LabelValues } from './descriptor.js';
import { checkExemplarLabels, newExemplar, type Exemplar } from './exemplars.js';
import type { MetricObjectWithValues, PromValue } from './metric.js';
import { ObservedMetric, observation } from './observed.js';
import { elapsedSeconds, labelledTimer, startClock } from './timer.js';
import { NativeBuckets, type NativeSettings } from './native-buckets.js';
import { DEFAULT_ZERO_THRESHOLD, schemaForFactor, type NativeHistogramData } from '../format/native-histogram.js';
import { processStorage } from '../storage/process-storage.js';
import type { SeriesStore } from '../storage/series-store.js';

/** What a histogram's get() resolves to: with native buckets, `native` too. */
export type HistogramValues = MetricObjectWithValues & { native?: NativeSeries[] };

/** One series' native histogram, with its labels: what get() and Family.native carry. */
export interface NativeSeries {
  labels: Record<string, string>;
  histogram: NativeHistogramData;
}

/** prom-client's default buckets (Python's differ; name them when mixing clients). */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class HistogramChild extends Child {
  /** With enableExemplars: the latest exemplar of each bucket (+Inf last). */
  exemplars: Array<Exemplar | null> | undefined;
  private sumSlot = 0;
  /** One slot per bound, +Inf last. Entries hold non-cumulative counts. */
  private readonly bucketSlots: Int32Array;

  constructor(
    metric: ChildOwner,
    labelValues: readonly (string | undefined)[],
    private readonly bounds: Float64Array,
    /** The native buckets, when nativeHistogramBucketFactor is set. */
    readonly native?: NativeBuckets,
  ) {
    super(metric, labelValues);
    this.bucketSlots = new Int32Array(bounds.length + 1);
  }

  rebind(region: Region, slots: readonly number[]): void {
    this.region = region;
    this.sumSlot = slots[0];
    for (let i = 0; i < this.bucketSlots.length; i++) this.bucketSlots[i] = slots[i + 1];
  }

  slots(): number[] {
    return [this.sumSlot, ...this.bucketSlots];
  }

  observe(value: number): void {
    const observed = observation(this.metric, value);
    if (this.withdrawnAt(this.sumSlot)) this.revive();
    // Native buckets first: at every instant they hold at least the classic count, so a scrape,
    // which reads the classic files before the native ones, never sees a native count below it.
    if (this.native !== undefined && this.native.observe(observed)) {
      // The native buckets reached their limit past nativeHistogramMinResetDuration: the whole series starts again, with this value.
      super.zeroSlots();
      this.native.observe(observed);
    }
    this.observeClassic(observed);
  }

  private observeClassic(observed: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && observed > bounds[i]) i++;
    const values = this.region.values;
    values[this.bucketSlots[i]] += 1;
    values[this.sumSlot] += observed;
  }

  override zeroSlots(): void {
    super.zeroSlots();
    this.native?.zeroCounts();
  }

  override withdraw(): void {
    super.withdraw();
    this.native?.withdraw();
  }

  override restore(): void {
    super.restore();
    this.native?.restore();
  }

  override clearExemplars(): void {
    this.exemplars = undefined;
    super.clearExemplars();
  }

  /** Records an exemplar for the bucket `value` falls in; returns that bucket's number (the last is +Inf). */
  recordExemplar(value: number, labels: Record<string, string | number>): number {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.exemplars ??= new Array<Exemplar | null>(bounds.length + 1).fill(null);
    this.exemplars[i] = newExemplar(labels, value);
    return i;
  }

  startTimer(): () => number {
    return labelledTimer(undefined, (_labels, seconds) => this.observe(seconds));
  }

  get sum(): number {
    return this.region.values[this.sumSlot];
  }

  /** Non-cumulative count of bucket i (the last is +Inf). */
  bucketCount(i: number): number {
    return this.region.values[this.bucketSlots[i]];
  }
}

/** prom-client's histogram configuration, with the native histogram options of client_golang (and client_js PR #856). */
export interface HistogramConfiguration<T extends string> extends BaseConfiguration<T, Histogram<T>> {
  /** Classic bucket bounds; default DEFAULT_BUCKETS, also with native buckets ([]: none but +Inf, so only _count and _sum). */
  buckets?: number[];
  /**
   * Turns native (exponential) buckets on: each bucket at most this factor
   * wider than the one before (above 1; 1.1 gives 8 buckets per power of
   * two). Exposed in the protobuf format only, beside the classic buckets.
   */
  nativeHistogramBucketFactor?: number;
  /** Observations with |v| at most this go to the zero bucket; default 2^-128; 0: exact zeros only. */
  nativeHistogramZeroThreshold?: number;
  /** Native buckets a series (of one process) may hold before its resolution is halved; default 160; 0: no limit. */
  nativeHistogramMaxBucketNumber?: number;
  /**
   * Milliseconds: a series that reaches nativeHistogramMaxBucketNumber this
   * long after it started (or was last reset) is reset, classic buckets
   * included, instead of losing resolution; default 0: never reset.
   */
  nativeHistogramMinResetDuration?: number;
}

/** client_golang's default bucket limit, and client_js PR #856's. */
export const DEFAULT_NATIVE_MAX_BUCKETS = 160;

/** The native options of `config`, checked; undefined when nativeHistogramBucketFactor is not set. */
function nativeSettings(metric: string, config: HistogramConfiguration<string>): NativeSettings | undefined {
  const { nativeHistogramBucketFactor: factor, nativeHistogramZeroThreshold: threshold, nativeHistogramMaxBucketNumber: maxBuckets, nativeHistogramMinResetDuration: minReset } = config;
  if (factor === undefined) {
    const given = (['nativeHistogramZeroThreshold', 'nativeHistogramMaxBucketNumber', 'nativeHistogramMinResetDuration'] as const).find((option) => config[option] !== undefined);
    if (given) throw new ValidationError(`Histogram ${metric}: ${given} needs nativeHistogramBucketFactor, which turns native buckets on`);
    return undefined;
  }
  if (typeof factor !== 'number' || !(factor > 1) || !Number.isFinite(factor)) {
    throw new ValidationError(`Histogram ${metric}: nativeHistogramBucketFactor must be a finite number above 1, got ${showValue(factor)}`);
  }
  const checked = (option: string, value: unknown, fallback: number, integer: boolean): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
      throw new ValidationError(`Histogram ${metric}: ${option} must be a finite ${integer ? 'integer' : 'number'} of at least 0, got ${showValue(value)}`);
    }
    return value;
  };
  return {
    schema: schemaForFactor(factor),
    zeroThreshold: checked('nativeHistogramZeroThreshold', threshold, DEFAULT_ZERO_THRESHOLD, false),
    maxBuckets: checked('nativeHistogramMaxBucketNumber', maxBuckets, DEFAULT_NATIVE_MAX_BUCKETS, true),
    minResetMs: checked('nativeHistogramMinResetDuration', minReset, 0, false),
  };
}

/** observe() of a histogram made with enableExemplars: prom-client's one-object form. */
export interface ObserveWithExemplar<T extends string> {
  labels?: LabelValues<T>;
  value: number;
  exemplarLabels?: Record<string, string | number>;
}

/** The upper bounds of `buckets`: finite numbers in increasing order; a last +Inf is dropped (that bucket is always there). */
function checkedBounds(metric: string, buckets: unknown): number[] {
  if (!Array.isArray(buckets)) throw new ValidationError(`Histogram ${metric}: buckets must be an array of numbers, got ${showValue(buckets)}`);
  const bounds: unknown[] = [...(buckets as unknown[])];
  if (bounds[bounds.length - 1] === Infinity) bounds.pop();
  bounds.forEach((bound, i) => {
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new ValidationError(`Histogram ${metric}: buckets must be finite numbers (a last +Inf is allowed), got ${showValue(bound)} at index ${i}`);
    }
    if (i > 0 && !(bound > (bounds[i - 1] as number))) {
      throw new ValidationError(`Histogram ${metric}: buckets must be in increasing order, got ${bound} after ${bounds[i - 1] as number} at index ${i}`);
    }
  });
  return bounds as number[];
}

export class Histogram<T extends string = string> extends ObservedMetric<T, HistogramChild> {
  readonly buckets: readonly number[];
  /** The native bucket options, checked; undefined without nativeHistogramBucketFactor. */
  readonly native: Readonly<NativeSettings> | undefined;
  constructor(config: HistogramConfiguration<T>) {
    let buckets: number[] = [];
    let native: NativeSettings | undefined;
    super('histogram', config as never, ['le'], (descriptor) => {
      const { name } = descriptor;
      buckets = checkedBounds(name, config.buckets === undefined ? DEFAULT_BUCKETS : config.buckets);
      native = nativeSettings(name, config as HistogramConfiguration<string>);
      const bounds = Float64Array.from(buckets);
      const settings = native;
      // One native store per metric, made with its first series (the store of this process's .nhdb file, or the metric's own in memory).
      let nativeStore: SeriesStore | undefined;
      return {
        specs: [
          { sampleName: `${name}_sum` },
          ...[...buckets, Infinity].map((b): EntrySpec => ({ sampleName: `${name}_bucket`, extraLabel: ['le', formatPrometheusFloat(b)] })),
        ],
        newChild: (metric, labelValues) => {
          if (!settings) return new HistogramChild(metric, labelValues, bounds);
          nativeStore ??= processStorage().storeFor('histogram', false, true);
          const buckets = new NativeBuckets(settings, nativeStore, (bucketName) => descriptor.nativeKey(labelValues, bucketName));
          return new HistogramChild(metric, labelValues, bounds, buckets);
        },
      };
    });
    this.buckets = buckets;
    this.native = native;
    if (this.enableExemplars) this.observe = this.observeWithExemplar as unknown as Histogram<T>['observe'];
  }

  override observe(labels: LabelValues<T>, value: number): void;
  override observe(value: number): void;
  /** prom-client's third form, of a histogram made with enableExemplars (the constructor puts it in place). */
  override observe(options: ObserveWithExemplar<T>): void;
  override observe(labelsOrValue: LabelValues<T> | number | ObserveWithExemplar<T>, value?: number): void {
    super.observe(labelsOrValue as LabelValues<T>, value!);
  }

  /**
   * startTimer(); with enableExemplars, prom-client's form: exemplar labels
   * given at the start and at the end are merged, as the labels are.
   */
  override startTimer(labels?: LabelValues<T>, exemplarLabels?: Record<string, string | number>): (labels?: LabelValues<T>, exemplarLabels?: Record<string, string | number>) => number {
    if (!this.enableExemplars) return super.startTimer(labels);
    const start = startClock();
    return (endLabels, endExemplarLabels) => {
      const value = elapsedSeconds(start);
      this.observeWithExemplar({ labels: { ...labels, ...endLabels } as LabelValues<T>, value, exemplarLabels: { ...exemplarLabels, ...endExemplarLabels } });
      return value;
    };
  }

  /** observe() of a histogram made with enableExemplars: prom-client's one-object form. */
  private observeWithExemplar(options: ObserveWithExemplar<T>): void {
    const { labels = {} as LabelValues<T>, value, exemplarLabels } = options ?? ({} as ObserveWithExemplar<T>);
    const observed = observation(this, value);
    const exemplar = exemplarLabels === undefined || Object.keys(exemplarLabels).length === 0 ? undefined : checkExemplarLabels(this, exemplarLabels);
    const child = this.childFor(labels);
    child.observe(observed);
    if (!exemplar) return;
    const bucket = child.recordExemplar(observed, exemplar);
    this.storeExemplar(child, bucket + 1, child.exemplars![bucket]!); // entry 0 is the sum
  }

  /**
   * get() without collect(); with native buckets, also `native`: each
   * series' native histogram, as Family.native carries it.
   */
  override snapshot(): HistogramValues {
    const snapshot = super.snapshot();
    if (!this.native) return snapshot;
    const native: NativeSeries[] = [];
    for (const child of this.liveChildren()) {
      const labels: Record<string, string> = {};
      for (const [name, value] of Object.entries(child.labels)) labels[name] = String(value);
      native.push({ labels, histogram: child.native!.data(child.sum) });
    }
    return { ...snapshot, native };
  }

  override get(): Promise<HistogramValues> {
    return super.get();
  }

  /** As prom-client: after reset() an unlabelled histogram has no series until it observes again. */
  protected override resetHidesUnlabelled(): boolean {
    return true;
  }

  /**
   * prom-client's shape: each bucket's labels start with `le` (a number,
   * `+Inf` for the last), then the series' own; then _sum and _count.
   */
  protected collectChild(child: HistogramChild, into: PromValue[]): void {
    for (const value of this.valuesOf(child)) {
      const { sharedLabels, labels, ...rest } = value;
      into.push({ ...rest, labels: { ...labels, ...sharedLabels } }); // prom-client's key order: labels last
    }
  }

  /**
   * get() as the text format reads it (prom-client's getForPromString()):
   * a bucket's `le` in `labels`, the series' own in `sharedLabels`, so a
   * registry's default labels come between them, as prom-client writes them.
   */
  async getForPromString(): Promise<MetricObjectWithValues<PromValue>> {
    await this.runCollect();
    const values: PromValue[] = [];
    for (const child of this.liveChildren()) values.push(...this.valuesOf(child));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  private valuesOf(child: HistogramChild): PromValue[] {
    const labels = child.labels;
    const bucketName = `${this.name}_bucket`;
    const out: PromValue[] = [];
    let cumulative = 0;
    const bounds = this.buckets;
    for (let i = 0; i <= bounds.length; i++) {
      cumulative += child.bucketCount(i);
      const le = i < bounds.length ? bounds[i] : '+Inf';
      out.push({ value: cumulative, metricName: bucketName, exemplar: child.exemplars?.[i] ?? null, labels: { le }, sharedLabels: labels });
    }
    out.push({ value: child.sum, metricName: `${this.name}_sum`, exemplar: undefined, labels: {}, sharedLabels: labels });
    out.push({ value: cumulative, metricName: `${this.name}_count`, exemplar: undefined, labels: {}, sharedLabels: labels });
    return out;
  }
}

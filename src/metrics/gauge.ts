import { showValue, ValidationError } from '../errors.js';
import { filePrefix } from '../format/directory-names.js';
import { isMostRecentMode } from '../format/merge.js';
import { isGaugeMode, type GaugeMode } from '../format/names.js';
import { processStorage } from '../storage/process-storage.js';
import { SingleSlotChild, type ChildOwner } from './child.js';
import { valueRefused, type Aggregator, type BaseConfiguration, type LabelValues, type MetricIdentity } from './descriptor.js';
import { Metric, type PromValue } from './metric.js';
import { elapsedSeconds, labelledTimer, startClock } from './timer.js';

/**
 * What inc() and dec() move by: 1 when omitted, else any number (NaN and
 * infinities too, as in prom-client and Python). prom-client's dec() negates
 * before it checks, so it takes dec('5') or dec(true); we take numbers only,
 * as its inc() and set() do.
 */
function delta(metric: MetricIdentity, method: 'inc()' | 'dec()', amount: unknown): number {
  if (amount === undefined) return 1;
  if (typeof amount === 'number') return amount;
  throw valueRefused(metric, method, 'a number', amount);
}

/** What set() takes: any number (NaN and infinities too, as in prom-client and Python). */
function gaugeValue(metric: MetricIdentity, value: unknown): number {
  if (typeof value === 'number') return value;
  throw valueRefused(metric, 'set()', 'a number', value);
}

/** A gauge's child in the modes without timestamps: inc(), dec() and set() on one value. */
export class GaugeChild extends SingleSlotChild {
  inc(amount?: number): void {
    const by = delta(this.metric, 'inc()', amount);
    const values = this.region.values;
    if (this.withdrawnAt(this.slot)) this.revive();
    values[this.slot] += by;
  }

  dec(amount?: number): void {
    const by = delta(this.metric, 'dec()', amount);
    const values = this.region.values;
    if (this.withdrawnAt(this.slot)) this.revive();
    values[this.slot] -= by;
  }

  set(value: number): void {
    const to = gaugeValue(this.metric, value);
    const values = this.region.values;
    if (this.withdrawnAt(this.slot)) this.revive();
    values[this.slot] = to;
  }

  setToCurrentTime(): void {
    this.set(Date.now() / 1000);
  }

  startTimer(): () => number {
    const start = startClock();
    return () => {
      const seconds = elapsedSeconds(start);
      this.set(seconds);
      return seconds;
    };
  }

  /** set(0): a mostrecent gauge records when. */
  override zero(): void {
    this.set(0);
  }

  /** When this child was last set, in Unix seconds (mostrecent modes; 0: never, and not exported). */
  get timestamp(): number {
    return this.region.values[this.slot + 1];
  }
}

/**
 * A mostrecent/livemostrecent gauge's child: set() writes the time beside
 * the value, and the merge keeps the latest. inc() and dec() are refused:
 * an increment of one process's value says nothing of the latest value.
 * The time is Date.now() written in place, with no clock closure in between.
 */
class MostRecentGaugeChild extends GaugeChild {
  override inc(): void {
    throw this.incDecRefused('inc');
  }

  override dec(): void {
    throw this.incDecRefused('dec');
  }

  override set(value: number): void {
    const to = gaugeValue(this.metric, value);
    const values = this.region.values;
    if (this.withdrawnAt(this.slot)) this.revive();
    values[this.slot] = to;
    values[this.slot + 1] = Date.now() / 1000;
  }

  private incDecRefused(op: string): ValidationError {
    return new ValidationError(`Gauge ${this.metric.name}: ${op}() is not allowed in multiprocess mode ${(this.metric as Gauge).multiprocessMode}; use set()`);
  }
}

/** A mostrecent gauge's child under configure()'s clock (tests, replays). */
class ClockedGaugeChild extends MostRecentGaugeChild {
  constructor(
    metric: ChildOwner,
    labelValues: readonly string[],
    private readonly clock: () => number,
  ) {
    super(metric, labelValues);
  }

  override set(value: number): void {
    const to = gaugeValue(this.metric, value);
    const values = this.region.values;
    if (this.withdrawnAt(this.slot)) this.revive();
    values[this.slot] = to;
    values[this.slot + 1] = this.clock();
  }
}

/** prom-client's gauge configuration, and how the values of several processes merge. */
export interface GaugeConfiguration<T extends string> extends BaseConfiguration<T, Gauge<T>> {
  /** How the values of several processes merge (docs/format.md); default: from `aggregator` if given, else `all`. */
  multiprocessMode?: GaugeMode;
}

/**
 * The multiprocess mode a prom-client aggregator stands for: its cluster mode
 * merged the live workers' values, so sum, min and max are the live modes;
 * `first` (any one worker's value) is the most recent one set; `average`
 * keeps one series per process (`avg without (pid)` gives prom-client's
 * number: files cannot hold a mean Python could read); `omit` writes no file
 * (the gauge stays in this process's own registries).
 */
const MODE_OF_AGGREGATOR: Record<Aggregator, GaugeMode | 'omit'> = {
  sum: 'livesum',
  min: 'livemin',
  max: 'livemax',
  first: 'livemostrecent',
  average: 'liveall',
  omit: 'omit',
};

/** The class of a gauge's children, chosen once per gauge: only mostrecent modes write a timestamp. */
function childClass(mode: GaugeMode): (metric: ChildOwner, labelValues: readonly string[]) => GaugeChild {
  if (!isMostRecentMode(mode)) return (metric, labelValues) => new GaugeChild(metric, labelValues);
  return (metric, labelValues) => {
    const clock = processStorage().clock;
    return clock ? new ClockedGaugeChild(metric, labelValues, clock) : new MostRecentGaugeChild(metric, labelValues);
  };
}

/**
 * Label names a gauge cannot have: the collector adds `pid` to the series of
 * the per-process modes and drops it from the merged ones, so a gauge's own
 * `pid` label would merge distinct series. (prom-client and Python accept it.)
 */
const GAUGE_RESERVED_LABELS = ['pid'];

/** The mode from the configuration: multiprocessMode, else the aggregator's, else `all`. */
function modeOf<T extends string>(config: GaugeConfiguration<T>): GaugeMode | 'omit' {
  const given = config.multiprocessMode;
  if (given === undefined) return config.aggregator === undefined ? 'all' : (MODE_OF_AGGREGATOR[config.aggregator] ?? 'all');
  if (!isGaugeMode(given)) {
    throw new ValidationError(`Gauge ${config.name}: unknown multiprocessMode ${showValue(given)}; one of all, liveall, min, livemin, max, livemax, sum, livesum, mostrecent, livemostrecent`);
  }
  return given;
}

export class Gauge<T extends string = string> extends Metric<T, GaugeChild> {
  /** How this gauge's values merge over processes; `omit`: they stay in this process (aggregator 'omit'). */
  readonly multiprocessMode: GaugeMode | 'omit';
  constructor(config: GaugeConfiguration<T>) {
    let mode: GaugeMode | 'omit' = 'all';
    // pid is the collector's in multiprocess mode only; in-process a gauge may have it, as in prom-client.
    const reserved = processStorage().dir ? GAUGE_RESERVED_LABELS : [];
    super('gauge', config as never, reserved, ({ name }) => {
      mode = modeOf(config);
      if (mode === 'omit') return { specs: [{ sampleName: name }], inMemory: true, newChild: childClass('all') };
      return { specs: [{ sampleName: name }], prefix: filePrefix('gauge', mode), newChild: childClass(mode) };
    });
    this.multiprocessMode = mode;
  }

  inc(labels: LabelValues<T>, value?: number): void;
  inc(value?: number): void;
  inc(labelsOrValue?: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object' && labelsOrValue !== null) {
      const amount = delta(this, 'inc()', value); // before childFor: a refused call creates no series
      this.childFor(labelsOrValue).inc(amount);
    } else {
      this.unlabelledChild().inc(labelsOrValue);
    }
  }

  dec(labels: LabelValues<T>, value?: number): void;
  dec(value?: number): void;
  dec(labelsOrValue?: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object' && labelsOrValue !== null) {
      const amount = delta(this, 'dec()', value);
      this.childFor(labelsOrValue).dec(amount);
    } else {
      this.unlabelledChild().dec(labelsOrValue);
    }
  }

  set(labels: LabelValues<T>, value: number): void;
  set(value: number): void;
  set(labelsOrValue: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object' && labelsOrValue !== null) {
      const checked = gaugeValue(this, value);
      this.childFor(labelsOrValue).set(checked);
    } else {
      this.unlabelledChild().set(labelsOrValue);
    }
  }

  setToCurrentTime(labels?: LabelValues<T>): void {
    (labels ? this.childFor(labels) : this.unlabelledChild()).setToCurrentTime();
  }

  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number {
    return labelledTimer(labels, (all, seconds) => (all ? this.childFor(all) : this.unlabelledChild()).set(seconds));
  }

  protected collectChild(child: GaugeChild, into: PromValue[]): void {
    into.push({ value: child.value, labels: child.labels });
  }
}

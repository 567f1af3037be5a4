import type { GaugeConfiguration } from 'prom-client';
import { showValue, ValidationError } from '../errors.js';
import { filePrefix, type FilePrefix } from '../format/directory-names.js';
import { isMostRecentMode } from '../format/merge.js';
import { isGaugeMode, type GaugeMode } from '../format/names.js';
import { processStorage } from '../storage/process-storage.js';
import { Metric, SingleSlotChild, valueRefused, type Child, type LabelValues, type PromValue } from './metric.js';
import { elapsedSeconds, labelledTimer, startClock } from './timer.js';

/**
 * What inc() and dec() move by: 1 when omitted, else any number (NaN and
 * infinities too, as in prom-client and Python). prom-client's dec() negates
 * before it checks, so it takes dec('5') or dec(true); we take numbers only,
 * as its inc() and set() do.
 */
function delta(metric: Metric<string, Child>, method: 'inc()' | 'dec()', amount: unknown): number {
  if (amount === undefined) return 1;
  if (typeof amount === 'number') return amount;
  throw valueRefused(metric, method, 'a number', amount);
}

/** What set() takes: any number (NaN and infinities too, as in prom-client and Python). */
function gaugeValue(metric: Metric<string, Child>, value: unknown): number {
  if (typeof value === 'number') return value;
  throw valueRefused(metric, 'set()', 'a number', value);
}

export class GaugeChild extends SingleSlotChild {
  constructor(
    metric: Gauge<string>,
    labelValues: readonly string[],
    /** Set for mostrecent modes: the timestamp written beside each value. */
    private readonly clock: (() => number) | undefined,
  ) {
    super(metric, labelValues);
  }

  inc(amount?: number): void {
    if (this.clock) throw this.incDecRefused('inc');
    this.region.values[this.slot] += delta(this.metric, 'inc()', amount);
  }

  dec(amount?: number): void {
    if (this.clock) throw this.incDecRefused('dec');
    this.region.values[this.slot] -= delta(this.metric, 'dec()', amount);
  }

  set(value: number): void {
    const values = this.region.values;
    values[this.slot] = gaugeValue(this.metric, value);
    if (this.clock) values[this.slot + 1] = this.clock();
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

  /** Whether this child was ever set (mostrecent modes export only those). */
  get timestamp(): number {
    return this.region.values[this.slot + 1];
  }

  private incDecRefused(op: string): ValidationError {
    return new ValidationError(`Gauge ${this.metric.name}: ${op}() is not allowed in multiprocess mode ${(this.metric as Gauge).multiprocessMode}; use set()`);
  }
}

export interface GaugeOptions<T extends string> extends Omit<GaugeConfiguration<T>, 'collect' | 'enableExemplars'> {
  /** How the values of several processes merge (FORMAT.md); default `all`. */
  multiprocessMode?: GaugeMode;
}

/**
 * Label names a gauge cannot have: the collector adds `pid` to the series of
 * the per-process modes and drops it from the merged ones, so a gauge's own
 * `pid` label would merge distinct series. (prom-client and Python accept it.)
 */
const GAUGE_RESERVED_LABELS = ['pid'];

export class Gauge<T extends string = string> extends Metric<T, GaugeChild> {
  readonly multiprocessMode: GaugeMode;
  constructor(config: GaugeOptions<T>) {
    super('gauge', config, GAUGE_RESERVED_LABELS);
    const mode = config.multiprocessMode ?? 'all';
    if (!isGaugeMode(mode)) {
      throw new ValidationError(`Gauge ${this.name}: unknown multiprocessMode ${showValue(mode)}; one of all, liveall, min, livemin, max, livemax, sum, livesum, mostrecent, livemostrecent`);
    }
    this.multiprocessMode = mode;
    this.specs = [{ sampleName: this.name }];
    this.initialize();
  }

  protected override storePrefix(): FilePrefix {
    return filePrefix('gauge', this.multiprocessMode);
  }

  inc(labels: LabelValues<T>, value?: number): void;
  inc(value?: number): void;
  inc(labelsOrValue?: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object') {
      const amount = delta(this, 'inc()', value); // before childFor: a refused call creates no series
      this.childFor(labelsOrValue).inc(amount);
    } else {
      this.unlabelledChild().inc(labelsOrValue);
    }
  }

  dec(labels: LabelValues<T>, value?: number): void;
  dec(value?: number): void;
  dec(labelsOrValue?: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object') {
      const amount = delta(this, 'dec()', value);
      this.childFor(labelsOrValue).dec(amount);
    } else {
      this.unlabelledChild().dec(labelsOrValue);
    }
  }

  set(labels: LabelValues<T>, value: number): void;
  set(value: number): void;
  set(labelsOrValue: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object') {
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

  protected createChild(labelValues: readonly string[]): GaugeChild {
    const clock = isMostRecentMode(this.multiprocessMode) ? processStorage().clock : undefined;
    return new GaugeChild(this, labelValues, clock);
  }

  protected collectChild(child: GaugeChild, into: PromValue[]): void {
    into.push({ value: child.value, labels: this.labelsObject(child) });
  }
}

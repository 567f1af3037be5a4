import { ValidationError } from '../errors.js';
import { filePrefix, type ExemplarPrefix, type FilePrefix } from '../format/directory-names.js';
import type { MetricType as MetricTypeName } from '../format/names.js';
import { processStorage } from '../storage/process-storage.js';
import type { SeriesStore } from '../storage/series-store.js';
import { recordExemplar, type ExemplarStore } from '../storage/exemplar-store.js';
import type { Child } from './child.js';
import { Descriptor, metricTitle, type Aggregator, type BaseConfiguration, type EntrySpec, type LabelValues } from './descriptor.js';

export type { Aggregator } from './descriptor.js';
import { LabelTree } from './label-tree.js';
import { defaultRegistries, type MetricRegistry } from './registries.js';
import { watchCollect } from './collect-callbacks.js';
import type { Exemplar } from './exemplars.js';


/** One sample of get(), in prom-client's shape. */
export interface MetricValue<T extends string = string> {
  value: number;
  labels: Partial<Record<T, string | number>>;
  metricName?: string;
  exemplar?: Exemplar | null;
}

/** What get() resolves to: prom-client's metric object with this process's values. */
export interface MetricObjectWithValues<V = MetricValue> {
  name: string;
  help: string;
  type: MetricTypeName;
  aggregator: Aggregator;
  values: V[];
}

/** A sample as the metric types build it: a histogram's bucket also carries the series' labels apart (sharedLabels, for the text format). */
export type PromValue = MetricValue & { sharedLabels?: Record<string, string | number> };

/** What a metric type decides once its own options are checked: its entries, its file, and the class of its children. */
export interface MetricShape<C extends Child> {
  /** The entries one child owns, in the order they are created in the file. */
  specs: readonly EntrySpec[];
  /** The file prefix of the metric's series; default the type's (a gauge's depends on its mode). */
  prefix?: FilePrefix;
  /** Keep the series in memory even in multiprocess mode: in no file, they reach no other process (a gauge with aggregator 'omit'). */
  inMemory?: boolean;
  /** Makes a child, of the class chosen for these options (a mostrecent gauge's writes a timestamp). */
  newChild(metric: Metric<string, C>, labelValues: readonly (string | undefined)[]): C;
}

/** prom-client's MetricType enum (its d.ts declares it; a metric's `type` is the lower-case name). */
export enum MetricType {
  Counter,
  Gauge,
  Histogram,
  Summary,
}

const AGGREGATORS: readonly string[] = ['omit', 'sum', 'first', 'min', 'max', 'average'];

/**
 * What every metric type shares: its descriptor, its children by label
 * values (in the order they were made, as prom-client exports them), their
 * slots in this process's files, the registries it joined, and prom-client's
 * label-handling methods.
 */
export abstract class Metric<T extends string = string, C extends Child = Child> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  /** Family name in the file keys (a counter's name without `_total`). */
  readonly family: string;
  readonly aggregator: Aggregator;
  readonly registers: readonly MetricRegistry[];
  readonly enableExemplars: boolean;
  /** prom-client's `collect`: called before this metric's values are read, with the metric as `this`. */
  readonly collect?: (this: never) => void | Promise<void>;
  private readonly descriptor: Descriptor<T>;
  private readonly shape: MetricShape<C>;
  private readonly children: LabelTree<C>;
  /** Every child, in creation order: get() and expositions list series in this order. */
  private readonly ordered = new Set<C>();
  private unlabelled: C | undefined;
  /** Set by a reset() that took the unlabelled series out of get() (resetHidesUnlabelled). */
  private unlabelledHidden = false;
  private seriesStore: SeriesStore | undefined;
  /** This process's exemplar store of the metric's prefix; null in-process. */
  private exemplarStore: ExemplarStore | null | undefined;

  /**
   * Checks the configuration every metric shares, then `shape` checks the
   * type's own options and says what its children are. An unlabelled metric
   * then creates its entries, and the metric joins its registries (which
   * refuse a second metric of the same name).
   */
  protected constructor(
    readonly type: MetricTypeName,
    config: BaseConfiguration<T, never>,
    reservedLabels: readonly string[],
    shape: (descriptor: Descriptor<T>) => MetricShape<C>,
  ) {
    this.descriptor = new Descriptor(type, config, reservedLabels);
    ({ name: this.name, help: this.help, labelNames: this.labelNames, family: this.family } = this.descriptor);
    const aggregator = config.aggregator ?? 'sum';
    if (!AGGREGATORS.includes(aggregator)) {
      throw new ValidationError(`${metricTitle(this)}: unknown aggregator ${JSON.stringify(aggregator)}; one of ${AGGREGATORS.join(', ')}`);
    }
    this.aggregator = aggregator as Aggregator;
    if (config.collect !== undefined && typeof config.collect !== 'function') {
      throw new ValidationError(`${metricTitle(this)}: collect must be a function`);
    }
    this.collect = config.collect;
    this.enableExemplars = config.enableExemplars === true;
    const registers = config.registers ?? defaultRegistries();
    if (!Array.isArray(registers)) throw new ValidationError(`${metricTitle(this)}: registers must be an array of registries`);
    this.registers = registers as MetricRegistry[];
    this.shape = shape(this.descriptor);
    this.children = new LabelTree(this.labelNames.length);
    // Registries first: a metric one of them refuses must write no entry (in multiprocess mode the
    // entries of a refused unlabelled metric would stay in the files, clashing with the one registered).
    const joined: MetricRegistry[] = [];
    try {
      for (const registry of this.registers) {
        (registry.registerMetric as (metric: unknown) => void)(this);
        joined.push(registry);
      }
      if (this.labelNames.length === 0) this.unlabelled = this.addChild([], {});
    } catch (err) {
      // A metric that fails on the way keeps no name in any registry.
      for (const registry of joined) registry.removeSingleMetric?.(this.name);
      throw err;
    }
    if (this.collect) watchCollect(this);
  }

  /** Whether this metric's series stay in this process even with a directory (a gauge with aggregator `omit`): no file holds them. */
  get inProcessOnly(): boolean {
    return this.shape.inMemory === true;
  }

  protected get store(): SeriesStore {
    return (this.seriesStore ??= processStorage().storeFor(this.shape.prefix ?? filePrefix(this.type), this.shape.inMemory));
  }

  /**
   * With a directory: writes `exemplar` as the latest of `child`'s entry
   * `entry` (a counter's only entry; a histogram's bucket i is entry i + 1,
   * after its sum) into this process's exemplar file, so that every
   * process's scrape can show it. In-process the child alone keeps it.
   */
  protected storeExemplar(child: C, entry: number, exemplar: Exemplar): void {
    if (this.exemplarStore === undefined) this.exemplarStore = processStorage().exemplarStoreFor(filePrefix(this.type) as ExemplarPrefix) ?? null;
    if (this.exemplarStore === null) return;
    const slots = (child.exemplarSlots ??= []);
    const slot = (slots[entry] ??= this.exemplarStore.slotFor(this.descriptor.keysFor(this.shape.specs, child.labelValues)[entry]));
    recordExemplar(slot, exemplar.labelSet, exemplar.value, exemplar.timestamp);
  }

  /** The child for positional label values (prom-client's labels('GET', '200')). */
  protected childForValues(values: readonly unknown[]): C {
    if (values.length !== this.labelNames.length) {
      throw new ValidationError(
        `Metric ${this.name}: expected ${this.labelNames.length} label values [${this.labelNames.join(', ')}], got ${values.length}`,
      );
    }
    if (values.length === 0) return this.unlabelled!;
    return this.children.find(values) ?? this.addChild(values, undefined);
  }

  /** Checks the values of a new label set, then creates its child, its entries and the path to it. */
  private addChild(values: readonly unknown[], labels: Readonly<Record<string, unknown>> | undefined): C {
    const texts = this.descriptor.checkedValues(values);
    const child = this.shape.newChild(this, texts);
    child.labels = (labels ? { ...labels } : this.descriptor.labelsOf(values)) as Record<string, string | number>;
    const { region, slots } = this.store.allocate(this.descriptor.keysFor(this.shape.specs, texts), child);
    child.rebind(region, slots);
    child.restore();
    if (texts.length > 0) this.children.add(texts, child);
    this.ordered.add(child);
    return child;
  }

  /** The child for a labels object (some labels may be left out, as prom-client allows); the fast path walks the tree without allocating. */
  protected childFor(labels: LabelValues<T>): C {
    const names = this.labelNames;
    if (names.length === 0) {
      for (const key in labels) throw this.descriptor.unknownLabel(key);
      return this.unlabelledChild();
    }
    let count = 0;
    for (const _ in labels) count++;
    if (count === names.length) {
      const child = this.children.findByNames(labels, names);
      if (child !== undefined) return child;
    }
    const values = this.descriptor.valuesOf(labels);
    return this.children.find(values) ?? this.addChild(values, labels);
  }

  /** The series without labels: an unlabelled metric's one child, else the labelled metric's series with every label left out. */
  protected unlabelledChild(): C {
    if (this.unlabelledHidden) this.showUnlabelled();
    return this.unlabelled ?? this.childFor({});
  }

  /** prom-client's labels(): positional values or one object. The child is the fastest path: keep it. */
  labels(...values: Array<string | number>): C;
  labels(labels: LabelValues<T>): C;
  labels(...args: unknown[]): C {
    if (args.length === 1 && args[0] !== null && typeof args[0] === 'object') return this.childFor(args[0] as LabelValues<T>);
    return this.childForValues(args);
  }

  /** Creates the series if needed and sets this process's values to 0 (a mostrecent gauge: set(0) now). */
  zero(labels?: LabelValues<T>): void {
    (labels ? this.childFor(labels) : this.unlabelledChild()).zero();
  }

  /**
   * Removes a series, as prom-client does: its values go to 0 and it leaves
   * get() and the expositions of this process; made again, it starts from 0.
   * In multiprocess mode the entries stay in the file (the format cannot
   * delete one), at 0.
   */
  remove(...args: unknown[]): void {
    const object = args.length === 1 && args[0] !== null && typeof args[0] === 'object';
    const values = object ? this.descriptor.valuesOf(args[0] as LabelValues<T>) : args;
    if (values.length !== this.labelNames.length) {
      throw new ValidationError(`Metric ${this.name}: remove() needs the ${this.labelNames.length} label values [${this.labelNames.join(', ')}]`);
    }
    if (values.length === 0) return;
    const child = this.children.remove(this.descriptor.checkedValues(values));
    if (child) this.drop(child);
  }

  /**
   * A child used after its series was taken out while its caller kept it
   * (Child.revive): the series comes back, from 0, as `labels(...)` with
   * its label values would make it. Where the series was made again already,
   * that child and this one share its entries (one key, one entry).
   */
  reattach(child: C): void {
    if (child === this.unlabelled) {
      if (this.unlabelledHidden) this.showUnlabelled();
      else child.restore();
      return;
    }
    child.restore();
    if (this.children.find(child.labelValues) !== undefined) return;
    this.children.add(child.labelValues, child);
    this.ordered.add(child);
  }

  /** Takes a child out: its entries are withdrawn (no scrape counts them) and it leaves get(). */
  private drop(child: C): void {
    child.withdraw();
    this.ordered.delete(child);
  }

  /**
   * prom-client's reset(): every series of this process back to 0; labelled
   * ones are dropped (an unlabelled series stays, at 0, except where the
   * type says otherwise).
   */
  reset(): void {
    if (this.resetHidesUnlabelled()) {
      this.withdraw();
      return;
    }
    for (const child of this.ordered) if (child !== this.unlabelled) this.drop(child);
    this.children.clear();
    this.unlabelled?.zeroSlots();
    this.unlabelled?.clearExemplars();
  }

  /**
   * Takes every series of this process out of the scrapes (a metric that
   * left its last registry): labelled children are dropped, the unlabelled
   * one is hidden until the metric is used again.
   */
  withdraw(): void {
    for (const child of this.ordered) if (child !== this.unlabelled) this.drop(child);
    this.children.clear();
    if (this.unlabelled && !this.unlabelledHidden) {
      this.drop(this.unlabelled);
      this.unlabelledHidden = true;
    }
  }

  /** Whether reset() takes the unlabelled series out of get() until it is used again (a histogram's, as in prom-client). */
  protected resetHidesUnlabelled(): boolean {
    return false;
  }

  /** Puts the unlabelled series back into get() and the scrapes when it is used after a reset that hid it. */
  private showUnlabelled(): void {
    this.unlabelledHidden = false;
    this.unlabelled!.restore();
    this.ordered.add(this.unlabelled!);
  }

  /** This process's children in creation order, the unlabelled one included. */
  protected liveChildren(): Iterable<C> {
    return this.ordered;
  }

  /** Runs collect() (prom-client's: before the values are read). */
  async runCollect(): Promise<void> {
    if (!this.collect) return;
    const result = (this.collect as (this: unknown) => void | Promise<void>).call(this);
    if (result instanceof Promise) await result;
  }

  /** prom-client's get(): collect() first, then this process's own values (the merged ones come from a registry in multiprocess mode). */
  async get(): Promise<MetricObjectWithValues> {
    await this.runCollect();
    return this.snapshot();
  }

  /** get() without collect(): this process's values now. */
  snapshot(): MetricObjectWithValues {
    const values: PromValue[] = [];
    for (const child of this.liveChildren()) this.collectChild(child, values);
    return this.type === 'counter' || this.type === 'gauge'
      ? { help: this.help, name: this.name, type: this.type, values, aggregator: this.aggregator }
      : { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  protected abstract collectChild(child: C, into: PromValue[]): void;
}

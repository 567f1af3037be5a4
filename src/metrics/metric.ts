import type { Counter as PromCounter } from 'prom-client';
import { ValidationError } from '../errors.js';
import { filePrefix, type FilePrefix } from '../format/directory-names.js';
import { exposedNames, type MetricType } from '../format/names.js';
import { processStorage } from '../storage/process-storage.js';
import type { SeriesStore } from '../storage/series-store.js';
import type { Child } from './child.js';
import { Descriptor, metricTitle, type BaseConfiguration, type EntrySpec, type LabelValues } from './descriptor.js';
import { LabelTree } from './label-tree.js';
import { claimNames, releaseNames } from './claimed-names.js';

/** What get() resolves to: prom-client's metric object with this process's values. */
export type MetricObjectWithValues = Awaited<ReturnType<PromCounter['get']>>;
export type PromValue = MetricObjectWithValues['values'][number] & { metricName?: string };

/** What a metric type decides once its own options are checked: its entries, its file, and the class of its children. */
export interface MetricShape<C extends Child> {
  /** The entries one child owns, in the order they are created in the file. */
  specs: readonly EntrySpec[];
  /** The file prefix of the metric's series; default the type's (a gauge's depends on its mode). */
  prefix?: FilePrefix;
  /** Makes a child, of the class chosen for these options (a mostrecent gauge's writes a timestamp). */
  newChild(metric: Metric<string, C>, labelValues: readonly string[]): C;
}

/**
 * What every metric type shares: its descriptor, its children by label
 * values, their slots in this process's files, and prom-client's
 * label-handling methods.
 */
export abstract class Metric<T extends string, C extends Child> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  /** Family name in the file keys (a counter's name without `_total`). */
  readonly family: string;
  private readonly descriptor: Descriptor<T>;
  private readonly shape: MetricShape<C>;
  private readonly children: LabelTree<C>;
  private unlabelled: C | undefined;
  private seriesStore: SeriesStore | undefined;

  /**
   * Checks the configuration every metric shares, then `shape` checks the
   * type's own options and says what its children are. The metric then
   * claims the names it exports, and an unlabelled one creates its entries.
   * A metric that fails on the way claims nothing.
   */
  protected constructor(
    readonly type: MetricType,
    config: BaseConfiguration<T>,
    reservedLabels: readonly string[],
    shape: (descriptor: Descriptor<T>) => MetricShape<C>,
  ) {
    this.descriptor = new Descriptor(type, config, reservedLabels);
    ({ name: this.name, help: this.help, labelNames: this.labelNames, family: this.family } = this.descriptor);
    this.shape = shape(this.descriptor);
    this.children = new LabelTree(this.labelNames.length);
    const names = exposedNames(this.type, this.family);
    claimNames(metricTitle(this), names);
    try {
      if (this.labelNames.length === 0) this.unlabelled = this.newChild([]);
    } catch (err) {
      releaseNames(names);
      throw err;
    }
  }

  protected get store(): SeriesStore {
    return (this.seriesStore ??= processStorage().store(this.shape.prefix ?? filePrefix(this.type)));
  }

  /** A new child bound to its slots, reusing the entries if this process wrote them before. */
  private newChild(labelValues: readonly string[]): C {
    const child = this.shape.newChild(this, labelValues);
    const { region, slots } = this.store.allocate(this.descriptor.keysFor(this.shape.specs, labelValues), child);
    child.rebind(region, slots);
    return child;
  }

  /** The child for positional label values (prom-client's labels('GET', '200')). */
  protected childForValues(values: readonly unknown[]): C {
    if (values.length !== this.labelNames.length) {
      throw new ValidationError(
        `Metric ${this.name}: expected ${this.labelNames.length} label values [${this.labelNames.join(', ')}], got ${values.length}`,
      );
    }
    if (values.length === 0) return this.unlabelledChild();
    return this.children.find(values) ?? this.addChild(values);
  }

  /** Checks the values of a new label set, then creates its child and the path to it. */
  private addChild(values: readonly unknown[]): C {
    const texts = this.descriptor.checkedValues(values);
    const child = this.newChild(texts);
    this.children.add(texts, child);
    return child;
  }

  /** The child for a labels object; the fast path walks the tree without allocating. */
  protected childFor(labels: LabelValues<T>): C {
    const names = this.labelNames;
    let count = 0;
    for (const _ in labels) count++;
    if (count === names.length && count > 0) {
      const child = this.children.findByNames(labels, names);
      if (child !== undefined) return child;
    }
    return this.childForValues(this.descriptor.valuesOf(labels));
  }

  protected unlabelledChild(): C {
    if (!this.unlabelled) {
      throw new ValidationError(`Metric ${this.name} has labels [${this.labelNames.join(', ')}]: pass their values`);
    }
    return this.unlabelled;
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
   * Forgets a child of this process. In multiprocess mode its entries stay in
   * the file with their values (the format cannot delete an entry), so the
   * merged series remains; in-process, the series disappears as in prom-client.
   */
  remove(...args: unknown[]): void {
    const values = args.length === 1 && args[0] !== null && typeof args[0] === 'object' ? this.descriptor.valuesOf(args[0] as LabelValues<T>) : args;
    if (values.length !== this.labelNames.length || values.length === 0) {
      throw new ValidationError(`Metric ${this.name}: remove() needs the ${this.labelNames.length} label values [${this.labelNames.join(', ')}]`);
    }
    const child = this.children.remove(this.descriptor.checkedValues(values));
    if (child) this.store.forget(child.region, child.slots());
  }

  /**
   * Sets every value of this process's series of this metric to 0. Labelled
   * children are forgotten (in-process they disappear, as in prom-client);
   * an unlabelled series stays at 0.
   */
  reset(): void {
    for (const child of this.children.all()) {
      child.zeroSlots();
      this.store.forget(child.region, child.slots());
    }
    this.children.clear();
    this.unlabelled?.zeroSlots();
  }

  /** This process's children, the unlabelled one included. */
  protected liveChildren(): C[] {
    return this.unlabelled ? [this.unlabelled] : this.children.all();
  }

  /** prom-client's get(): this process's own values (the merged ones come from MultiprocessRegistry). */
  async get(): Promise<MetricObjectWithValues> {
    const values: PromValue[] = [];
    for (const child of this.liveChildren()) this.collectChild(child, values);
    return {
      name: this.name,
      help: this.help,
      type: this.type as unknown as MetricObjectWithValues['type'],
      aggregator: 'sum',
      values,
    } as MetricObjectWithValues;
  }

  protected labelsObject(child: Child): Record<string, string> {
    const labels: Record<string, string> = {};
    this.labelNames.forEach((name, i) => (labels[name] = child.labelValues[i]));
    return labels;
  }

  protected abstract collectChild(child: C, into: PromValue[]): void;
}

import type { Counter as PromCounter } from 'prom-client';
import { showValue, ValidationError } from '../errors.js';
import { EntryKeyTemplate } from '../format/pyjson.js';
import { filePrefix, type FilePrefix } from '../format/directory-names.js';
import { checkLabelNames, checkMetricName, exposedNames, isWellFormed, type MetricType } from '../format/names.js';
import type { Region } from '../storage/entry-file.js';
import { processStorage } from '../storage/process-storage.js';
import type { SeriesStore, SlotOwner } from '../storage/series-store.js';
import { claimNames, releaseNames } from './registry.js';

/** Label values by name, as prom-client takes them. */
export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

/** What get() resolves to: prom-client's metric object with this process's values. */
export type MetricObjectWithValues = Awaited<ReturnType<PromCounter['get']>>;
type PromValue = MetricObjectWithValues['values'][number] & { metricName?: string };

export interface BaseConfiguration<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  /** Accepted for prom-client compatibility; the files are the registry in multiprocess mode. */
  registers?: unknown[];
  aggregator?: string;
}

/** One entry's key and where its value sits in the region. */
export interface EntrySpec {
  sampleName: string;
  extraLabel?: [name: string, value: string];
}

/**
 * The value slots of one label set. Subclasses read and write
 * `region.values[slot]` directly: that is the whole hot path.
 */
export abstract class Child implements SlotOwner {
  region!: Region;

  constructor(
    protected readonly metric: Metric<string, Child>,
    readonly labelValues: readonly string[],
  ) {}

  abstract rebind(region: Region, slots: readonly number[]): void;
  /** Every slot of this child, value slots only (timestamps follow them). */
  abstract slots(): number[];

  zeroSlots(): void {
    const values = this.region.values;
    for (const slot of this.slots()) {
      values[slot] = 0;
      values[slot + 1] = 0;
    }
  }

  /** What zero() does to this child: its values to 0. */
  zero(): void {
    this.zeroSlots();
  }
}

/** A child with one value (counters, gauges). */
export abstract class SingleSlotChild extends Child {
  protected slot = 0;

  rebind(region: Region, slots: readonly number[]): void {
    this.region = region;
    this.slot = slots[0];
  }

  slots(): number[] {
    return [this.slot];
  }

  get value(): number {
    return this.region.values[this.slot];
  }
}

/**
 * Children by label values, one level per label name in declaration order:
 * a path of exact strings, so two different label sets never share a child.
 */
type ChildTree<C> = Map<string, ChildTree<C> | C>;

/** A label value as prom-client stringifies it (1 and '1' are one series); undefined for a type it refuses. */
function labelText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}


/** "Counter jobs": how errors name a metric. */
function metricTitle(type: MetricType, name: string): string {
  return `${type[0].toUpperCase()}${type.slice(1)} ${name}`;
}

/** The error for a value one of a metric's methods refuses; only the error path builds its strings. */
export function valueRefused(metric: Metric<string, Child>, method: string, expected: string, got: unknown): ValidationError {
  return new ValidationError(`${metricTitle(metric.type, metric.name)}: ${method} needs ${expected}, got ${showValue(got)}`);
}

/**
 * What every metric type shares: validation, the children by label values,
 * the entry keys, and prom-client's label-handling methods.
 */
export abstract class Metric<T extends string, C extends Child> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  /** Family name in the file keys (a counter's name without `_total`). */
  readonly family: string;
  /** labelNames as a set: checking a labels object costs one lookup per key. */
  private readonly labelNameSet: ReadonlySet<string>;
  private readonly children: ChildTree<C> = new Map();
  private unlabelled: C | undefined;
  private seriesStore: SeriesStore | undefined;
  private keyTemplates: EntryKeyTemplate[] | undefined;

  /** Checks what every metric's configuration shares; the subclass checks its own options, then calls initialize(). */
  protected constructor(
    readonly type: MetricType,
    config: BaseConfiguration<T>,
    reservedLabels: readonly string[],
  ) {
    if (config === null || typeof config !== 'object') throw new ValidationError('Metric configuration must be an object with name and help');
    checkMetricName(config.name);
    if (typeof config.help !== 'string') throw new ValidationError(`Metric ${config.name}: help must be a string, got ${showValue(config.help)}`);
    // The file keeps a lone surrogate, but expositions turn it into U+FFFD and Python's exporter fails on it.
    if (!isWellFormed(config.help)) throw new ValidationError(`Metric ${config.name}: help must be well-formed UTF-16 (no lone surrogate), got ${showValue(config.help)}`);
    this.name = config.name;
    this.help = config.help;
    this.labelNames = checkLabelNames(config.name, config.labelNames === undefined ? [] : config.labelNames, reservedLabels) as T[];
    this.labelNameSet = new Set(this.labelNames);
    this.family = type === 'counter' && this.name.endsWith('_total') ? this.name.slice(0, -'_total'.length) : this.name;
    if (this.family === '') throw new ValidationError(`Metric ${config.name}: a counter needs a name besides _total`);
  }

  /**
   * Subclasses call this last, once their options are checked: the metric
   * claims the names it exports, and an unlabelled one creates its entries.
   * A metric that fails before or here claims nothing.
   */
  protected initialize(): void {
    const names = exposedNames(this.type, this.family);
    claimNames(metricTitle(this.type, this.name), names);
    try {
      if (this.labelNames.length === 0) this.unlabelled = this.newChild([]);
    } catch (err) {
      releaseNames(names);
      throw err;
    }
  }

  /** The file prefix of this metric's series (a gauge's depends on its mode). */
  protected storePrefix(): FilePrefix {
    return filePrefix(this.type);
  }

  protected get store(): SeriesStore {
    return (this.seriesStore ??= processStorage().store(this.storePrefix()));
  }

  /** The entries one child owns, in the order they are created in the file; set before initialize(). */
  protected specs: readonly EntrySpec[] = [];
  protected abstract createChild(labelValues: readonly string[]): C;

  /** Keys of one child's entries, exactly as Python writes them. */
  private keysFor(labelValues: readonly string[]): string[] {
    this.keyTemplates ??= this.specs.map(
      (spec) => new EntryKeyTemplate(this.family, spec.sampleName, this.labelNames, this.help, spec.extraLabel),
    );
    return this.keyTemplates.map((template) => template.key(labelValues));
  }

  /** A new child bound to its slots, reusing the entries if this process wrote them before. */
  private newChild(labelValues: readonly string[]): C {
    const child = this.createChild(labelValues);
    const { region, slots } = this.store.allocate(this.keysFor(labelValues), child);
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
    return this.existingChild(values) ?? this.addChild(values);
  }

  /** The child of these label values if it exists; creates nothing. */
  private existingChild(values: readonly unknown[]): C | undefined {
    let node: ChildTree<C> | C | undefined = this.children;
    for (let i = 0; i < values.length && node !== undefined; i++) {
      const text = labelText(values[i]);
      node = text === undefined ? undefined : (node as ChildTree<C>).get(text);
    }
    return node as C | undefined;
  }

  /** Checks the values of a new label set, then creates its child and the path to it. */
  private addChild(values: readonly unknown[]): C {
    const texts = values.map((value, i) => this.checkedValue(this.labelNames[i], value));
    const child = this.newChild(texts);
    let node: ChildTree<C> = this.children;
    const last = texts.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(texts[i]) as ChildTree<C> | undefined;
      if (!next) {
        next = new Map();
        node.set(texts[i], next);
      }
      node = next;
    }
    node.set(texts[last], child);
    return child;
  }

  /** The child for a labels object; the fast path walks the tree without allocating. */
  protected childFor(labels: LabelValues<T>): C {
    const names = this.labelNames;
    let count = 0;
    for (const _ in labels) count++;
    if (count === names.length && count > 0) {
      let node: ChildTree<C> | C | undefined = this.children;
      for (let i = 0; i < names.length && node !== undefined; i++) {
        const raw = labels[names[i]];
        node = (node as ChildTree<C>).get(typeof raw === 'string' ? raw : (labelText(raw) as string));
      }
      if (node !== undefined) return node as C;
    }
    return this.childForValues(this.valuesOf(labels));
  }

  private valuesOf(labels: LabelValues<T>): unknown[] {
    if (labels === null || typeof labels !== 'object') throw new ValidationError(`Metric ${this.name}: labels must be an object`);
    for (const key of Object.keys(labels)) {
      if (!this.labelNameSet.has(key)) {
        throw new ValidationError(`Metric ${this.name}: unknown label ${showValue(key)}; its labels are [${this.labelNames.join(', ')}]`);
      }
    }
    return this.labelNames.map((name) => {
      const value = labels[name];
      if (value === undefined) throw new ValidationError(`Metric ${this.name}: missing value for label "${name}"`);
      return value;
    });
  }

  /** A label value as the series key holds it: a string or number, well-formed (a lone surrogate would be exported as U+FFFD, merging series). */
  private checkedValue(name: string, value: unknown): string {
    const text = labelText(value);
    if (text === undefined) {
      throw new ValidationError(`Metric ${this.name}: value of label "${name}" must be a string or number, got ${showValue(value)}`);
    }
    if (!isWellFormed(text)) {
      throw new ValidationError(`Metric ${this.name}: value of label "${name}" must be well-formed UTF-16 (no lone surrogate), got ${showValue(text)}`);
    }
    return text;
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
    const values = args.length === 1 && args[0] !== null && typeof args[0] === 'object' ? this.valuesOf(args[0] as LabelValues<T>) : args;
    if (values.length !== this.labelNames.length || values.length === 0) {
      throw new ValidationError(`Metric ${this.name}: remove() needs the ${this.labelNames.length} label values [${this.labelNames.join(', ')}]`);
    }
    const keys = values.map((v, i) => this.checkedValue(this.labelNames[i], v));
    const path: Array<ChildTree<C>> = [this.children];
    const last = keys.length - 1;
    for (let i = 0; i < last; i++) {
      const next = path[i].get(keys[i]) as ChildTree<C> | undefined;
      if (!next) return;
      path.push(next);
    }
    const child = path[last].get(keys[last]) as C | undefined;
    if (!child) return;
    // The child goes, and so does every node it leaves empty: the tree holds only paths to children.
    for (let i = last; i >= 0; i--) {
      path[i].delete(keys[i]);
      if (path[i].size > 0) break;
    }
    this.store.forget(child.region, child.slots());
  }

  /**
   * Sets every value of this process's series of this metric to 0. Labelled
   * children are forgotten (in-process they disappear, as in prom-client);
   * an unlabelled series stays at 0.
   */
  reset(): void {
    for (const child of this.allChildren()) {
      child.zeroSlots();
      this.store.forget(child.region, child.slots());
    }
    this.children.clear();
    this.unlabelled?.zeroSlots();
  }

  /** The labelled children, depth first; walked without recursion, as the tree is as deep as there are label names. */
  protected allChildren(): C[] {
    const out: C[] = [];
    if (this.labelNames.length === 0) return out;
    const open: Array<Iterator<ChildTree<C> | C>> = [this.children.values()];
    while (open.length > 0) {
      const next = open[open.length - 1].next();
      if (next.done) open.pop();
      else if (open.length === this.labelNames.length) out.push(next.value as C);
      else open.push((next.value as ChildTree<C>).values());
    }
    return out;
  }

  /** This process's children, the unlabelled one included. */
  protected liveChildren(): C[] {
    return this.unlabelled ? [this.unlabelled] : this.allChildren();
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

export type { PromValue };

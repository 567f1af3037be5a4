import { showValue, ValidationError } from '../errors.js';
import { EntryKeyTemplate } from '../format/pyjson.js';
import { checkLabelNames, checkMetricName, isWellFormed, type MetricType } from '../format/names.js';
import { counterNaming } from '../storage/config.js';
import type { MetricRegistry } from './registries.js';

/**
 * What a metric is, apart from its values (client_golang's Desc): its
 * checked name, help and label names, its family name in the file keys,
 * the entries each child owns, and the keys of those entries exactly as
 * Python writes them.
 */

/** Label values by name, as prom-client takes them. */
export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

/** prom-client's aggregator names (how its cluster mode merges a metric over workers). */
export type Aggregator = 'omit' | 'sum' | 'first' | 'min' | 'max' | 'average';

/** prom-client's collect(): called with the metric as `this` before its values are read. */
export type CollectFunction<M> = (this: M) => void | Promise<void>;

/** The configuration every metric type takes (prom-client's MetricConfiguration). */
export interface BaseConfiguration<T extends string, M = unknown> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  /** The registries the metric joins; default [register]; [] joins none. */
  registers?: readonly MetricRegistry[];
  /** prom-client's cluster aggregator; a gauge's chooses its multiprocess mode when multiprocessMode is not given. */
  aggregator?: Aggregator;
  /** Called (with the metric as `this`) before its values are read: a scrape, get(). */
  collect?: CollectFunction<M>;
  enableExemplars?: boolean;
}

/** One entry a child owns: its sample name, and a label of its own (a bucket's `le`). */
export interface EntrySpec {
  sampleName: string;
  extraLabel?: [name: string, value: string];
}

/** How errors name a metric: its type and name. */
export interface MetricIdentity {
  readonly type: MetricType;
  readonly name: string;
}

/** "Counter jobs": how errors name a metric. */
export function metricTitle(metric: MetricIdentity): string {
  return `${metric.type[0].toUpperCase()}${metric.type.slice(1)} ${metric.name}`;
}

/** The error for a value one of a metric's methods refuses; only the error path builds its strings. */
export function valueRefused(metric: MetricIdentity, method: string, expected: string, got: unknown): ValidationError {
  return new ValidationError(`${metricTitle(metric)}: ${method} needs ${expected}, got ${showValue(got)}`);
}

/** A label value as prom-client stringifies it (1 and '1' are one series); undefined for a type it refuses. */
export function labelText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

export class Descriptor<T extends string> implements MetricIdentity {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  /** Family name in the file keys (a counter's name without `_total`). */
  readonly family: string;
  /**
   * A counter's sample name in the file keys: its declared name, as
   * prom-client exports it (`jobs` or `jobs_total`), or `<family>_total`
   * always under configure({ naming: 'python' }).
   */
  readonly counterSample: string;
  /** labelNames as a set: checking a labels object costs one lookup per key. */
  private readonly labelNameSet: ReadonlySet<string>;
  private keyTemplates: EntryKeyTemplate[] | undefined;
  private nativeKeyTemplate: EntryKeyTemplate | undefined;

  /** Checks what every metric's configuration shares. */
  constructor(
    readonly type: MetricType,
    config: BaseConfiguration<T, never>,
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
    this.counterSample = counterNaming() === 'python' ? `${this.family}_total` : this.name;
  }

  /** Keys of one child's entries (`specs`, the same every call), exactly as Python writes them. */
  keysFor(specs: readonly EntrySpec[], labelValues: readonly (string | undefined)[]): string[] {
    this.keyTemplates ??= specs.map((spec) => new EntryKeyTemplate(this.family, spec.sampleName, this.labelNames, this.help, spec.extraLabel));
    return this.keyTemplates.map((template) => template.key(labelValues));
  }

  /**
   * The key of a native histogram bucket's entry (docs/format.md): the
   * bucket's name where a sample name goes, no help text (the family's is
   * its classic entries').
   */
  nativeKey(labelValues: readonly (string | undefined)[], bucketName: string): string {
    this.nativeKeyTemplate ??= new EntryKeyTemplate(this.family, '', this.labelNames, '');
    return this.nativeKeyTemplate.key(labelValues, bucketName);
  }

  /**
   * The values of a labels object in label name order, undefined for a label
   * left out (prom-client takes any subset of the label names); throws
   * ValidationError for a label the metric does not have.
   */
  valuesOf(labels: LabelValues<T>): unknown[] {
    if (labels === null || typeof labels !== 'object') throw new ValidationError(`Metric ${this.name}: labels must be an object`);
    for (const key of Object.keys(labels)) {
      if (!this.labelNameSet.has(key)) throw this.unknownLabel(key);
    }
    return this.labelNames.map((name) => labels[name]);
  }

  unknownLabel(key: string): ValidationError {
    return new ValidationError(`Metric ${this.name}: unknown label ${showValue(key)}; its labels are [${this.labelNames.join(', ')}]`);
  }

  /** Positional label values as the labels object get() shows (label name order, left-out labels absent). */
  labelsOf(values: readonly unknown[]): Record<string, unknown> {
    const labels: Record<string, unknown> = {};
    values.forEach((value, i) => {
      if (value !== undefined) labels[this.labelNames[i]] = value;
    });
    return labels;
  }

  /**
   * Label values as series keys hold them, checked: strings or numbers,
   * well-formed (a lone surrogate would be exported as U+FFFD, merging
   * series); undefined stays undefined (a label left out).
   */
  checkedValues(values: readonly unknown[]): (string | undefined)[] {
    return values.map((value, i) => {
      if (value === undefined) return undefined;
      const name = this.labelNames[i];
      const text = labelText(value);
      if (text === undefined) {
        throw new ValidationError(`Metric ${this.name}: value of label "${name}" must be a string or number, got ${showValue(value)}`);
      }
      if (!isWellFormed(text)) {
        throw new ValidationError(`Metric ${this.name}: value of label "${name}" must be well-formed UTF-16 (no lone surrogate), got ${showValue(text)}`);
      }
      return text;
    });
  }
}

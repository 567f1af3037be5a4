import { showValue, ValidationError } from '../errors.js';
import { EntryKeyTemplate } from '../format/pyjson.js';
import { checkLabelNames, checkMetricName, isWellFormed, type MetricType } from '../format/names.js';

/**
 * What a metric is, apart from its values (client_golang's Desc): its
 * checked name, help and label names, its family name in the file keys,
 * the entries each child owns, and the keys of those entries exactly as
 * Python writes them.
 */

/** Label values by name, as prom-client takes them. */
export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

export interface BaseConfiguration<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  /** Accepted for prom-client compatibility; the files are the registry in multiprocess mode. */
  registers?: unknown[];
  aggregator?: string;
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
  /** labelNames as a set: checking a labels object costs one lookup per key. */
  private readonly labelNameSet: ReadonlySet<string>;
  private keyTemplates: EntryKeyTemplate[] | undefined;

  /** Checks what every metric's configuration shares. */
  constructor(
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

  /** Keys of one child's entries (`specs`, the same every call), exactly as Python writes them. */
  keysFor(specs: readonly EntrySpec[], labelValues: readonly string[]): string[] {
    this.keyTemplates ??= specs.map((spec) => new EntryKeyTemplate(this.family, spec.sampleName, this.labelNames, this.help, spec.extraLabel));
    return this.keyTemplates.map((template) => template.key(labelValues));
  }

  /** The values of a labels object in label name order; throws ValidationError for an unknown or missing label. */
  valuesOf(labels: LabelValues<T>): unknown[] {
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

  /** Label values as series keys hold them, checked: strings or numbers, well-formed (a lone surrogate would be exported as U+FFFD, merging series). */
  checkedValues(values: readonly unknown[]): string[] {
    return values.map((value, i) => {
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

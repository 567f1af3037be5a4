import { formatJavaScriptNumber as valueText } from '../format/float.js';
import type { ExpositionFormat } from './exposition.js';
import type { Family } from './family.js';

/**
 * The exposition of metrics that live in this process (in-process mode,
 * and metric objects that are not ours served beside the files), byte for
 * byte as prom-client writes it, since users snapshot their `/metrics`:
 * families in registration order, series in the order they were made, label
 * pairs in the order they were given, a blank line between families in the
 * text format, numbers as JavaScript prints them (`Nan` for NaN, as
 * prom-client spells it).
 */

/** A sample of a metric's get(), as prom-client shapes it. */
export interface MetricSample {
  value: number;
  labels?: Record<string, unknown>;
  /** A histogram's series labels beside a bucket's `le` (prom-client's getForPromString()): written after the others. */
  sharedLabels?: Record<string, unknown>;
  metricName?: string;
  exemplar?: { labelSet: Readonly<Record<string, unknown>>; value: number; timestamp?: number } | null;
}

export interface MetricSnapshot {
  name: string;
  help: string;
  /** 'counter', 'gauge', 'histogram' or 'summary' (prom-client's d.ts types it as its MetricType enum). */
  type: unknown;
  values?: MetricSample[];
  /** A histogram with native buckets: each series' native histogram (Family.native). */
  native?: Family['native'];
}

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelPairs(labels: Readonly<Record<string, unknown>>, exclude?: Readonly<Record<string, unknown>>): string[] {
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (exclude && Object.prototype.hasOwnProperty.call(exclude, name)) continue;
    const text = typeof value === 'string' ? escapeText(value).replace(/"/g, '\\"') : value;
    pairs.push(`${name}="${text}"`);
  }
  return pairs;
}

export interface MetricTextOptions {
  format: ExpositionFormat;
  /** Labels added to every series that lacks them (the registry's default labels). */
  defaultLabels?: Record<string, unknown>;
  /** configure({ naming: 'python' }): counter samples always `<family>_total`. */
  pythonNaming?: boolean;
}

/** One metric's lines (no trailing newline), from its get() result. */
export function metricText(metric: MetricSnapshot, options: MetricTextOptions): string {
  const openMetrics = options.format === 'openmetrics';
  const counter = metric.type === 'counter';
  let name = escapeText(metric.name);
  if (counter && (openMetrics || options.pythonNaming)) name = name.replace(/_total$/, '');
  const headerName = counter && options.pythonNaming && !openMetrics ? `${name}_total` : name;
  const lines = [`# HELP ${headerName} ${escapeText(metric.help)}`, `# TYPE ${headerName} ${metric.type}`];
  const defaults = options.defaultLabels && Object.keys(options.defaultLabels).length > 0 ? options.defaultLabels : undefined;
  for (const sample of metric.values ?? []) {
    let sampleName = sample.metricName ?? name;
    if (counter && (openMetrics || options.pythonNaming)) sampleName = `${sampleName}_total`;
    let labels = sample.labels ?? {};
    if (defaults) labels = { ...labels, ...defaults, ...labels };
    const shared = sample.sharedLabels;
    const pairs = labelPairs(labels, shared);
    if (shared) {
      const sharedPairs = labelPairs(shared).join(',');
      if (sharedPairs !== '') pairs.push(sharedPairs);
    }
    let line = `${sampleName}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${valueText(sample.value)}`;
    const exemplar = sample.exemplar;
    if (exemplar && openMetrics) line += ` # {${labelPairs(exemplar.labelSet).join(',')}} ${valueText(exemplar.value)} ${exemplar.timestamp}`;
    lines.push(line);
  }
  return lines.join('\n');
}

/** Whole expositions from the metrics' texts, joined as prom-client joins them. */
export function joinMetricTexts(texts: readonly string[], format: ExpositionFormat): string {
  return format === 'openmetrics' ? `${texts.join('\n')}\n# EOF\n` : `${texts.join('\n\n')}\n`;
}

import { showValue, ValidationError } from '../errors.js';

export const GAUGE_MODES = [
  'all',
  'liveall',
  'min',
  'livemin',
  'max',
  'livemax',
  'sum',
  'livesum',
  'mostrecent',
  'livemostrecent',
] as const;
export type GaugeMode = (typeof GAUGE_MODES)[number];

export const LIVE_GAUGE_MODES: readonly GaugeMode[] = GAUGE_MODES.filter((m) => m.startsWith('live'));

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** Code-unit order, as a plain sort() of strings gives: how names and label sets are ordered everywhere. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isGaugeMode(mode: unknown): mode is GaugeMode {
  return typeof mode === 'string' && (GAUGE_MODES as readonly string[]).includes(mode);
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Prometheus' metric (and sample) name rule: what the text formats can carry unquoted. */
export function isMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** Prometheus' label name rule; names starting with `__` are reserved for Prometheus itself. */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith('__');
}

export function checkMetricName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
    throw new ValidationError(`Invalid metric name ${showValue(name)}: must match ${METRIC_NAME.source}`);
  }
}

/** The label names of a metric, checked: an array of distinct valid names, none of them `reserved`. Linear in their number. */
export function checkLabelNames(metric: string, labelNames: unknown, reserved: readonly string[]): string[] {
  if (!Array.isArray(labelNames)) {
    throw new ValidationError(`Metric ${metric}: labelNames must be an array of strings, got ${showValue(labelNames)}`);
  }
  const seen = new Set<string>();
  for (const label of labelNames as unknown[]) {
    if (typeof label !== 'string' || !LABEL_NAME.test(label)) {
      throw new ValidationError(`Metric ${metric}: invalid label name ${showValue(label)}: must match ${LABEL_NAME.source}`);
    }
    if (label.startsWith('__')) throw new ValidationError(`Metric ${metric}: label name "${label}" is reserved (starts with __)`);
    if (reserved.includes(label)) throw new ValidationError(`Metric ${metric}: label name "${label}" is reserved for this metric type`);
    if (seen.has(label)) throw new ValidationError(`Metric ${metric}: label name "${label}" given twice`);
    seen.add(label);
  }
  return [...seen];
}

/**
 * Whether `text` is well-formed UTF-16 (no lone surrogate): only such text
 * encodes to UTF-8 and back unchanged, so two different values never export
 * as one. String.prototype.isWellFormed, which Node 20 has and the ES2022
 * lib we build with does not declare.
 */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Every name a family of `type` may put on an exposition line in either
 * format: its own (HELP and TYPE; OpenMetrics names a counter family without
 * `_total`) and its type's sample names, `_created` included (OpenMetrics
 * reserves it for counters, histograms and summaries; Python's registry
 * likewise refuses two collectors sharing any of these). Two families whose
 * names meet cannot both be exported: a parser reads the second one's lines
 * as the first's, and promtool rejects the exposition. The writers refuse
 * such a metric, and the collector serves the first family it meets.
 */
export function exposedNames(type: MetricType, family: string): string[] {
  return [family, ...EXPOSED_SUFFIXES[type].map((suffix) => family + suffix)];
}

const EXPOSED_SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: ['_total', '_created'],
  gauge: [],
  histogram: ['_bucket', '_count', '_sum', '_created'],
  summary: ['_count', '_sum', '_created'],
};

/** prom-client's validateMetricName: whether `name` may name a metric. */
export function validateMetricName(name: unknown): boolean {
  return typeof name === 'string' && isMetricName(name);
}

export { Counter, CounterChild, type CounterOptions } from './metrics/counter.js';
export { Gauge, GaugeChild, type GaugeOptions } from './metrics/gauge.js';
export { Histogram, HistogramChild, DEFAULT_BUCKETS, type HistogramOptions } from './metrics/histogram.js';
export { Summary, SummaryChild, type SummaryOptions } from './metrics/summary.js';
export type { LabelValues, MetricObjectWithValues } from './metrics/metric.js';
export { configure, DIR_ENV, type ConfigureOptions } from './storage/process-storage.js';
export { markProcessDead } from './storage/directory.js';
export {
  MultiprocessRegistry,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  SKIPPED_FILES_FAMILY,
  type MetricJSON,
  type MultiprocessRegistryOptions,
} from './collector/registry.js';
export type { Family, Sample } from './collector/family.js';
export { GAUGE_MODES, type GaugeMode } from './format/names.js';
export type { Logger } from './log.js';
export { PromMultiprocError, ValidationError, ConfigError, StorageError, FileFormatError } from './errors.js';

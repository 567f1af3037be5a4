export { Counter, CounterChild, type CounterConfiguration, type IncrementWithExemplar } from './metrics/counter.js';
export { Gauge, GaugeChild, type GaugeConfiguration } from './metrics/gauge.js';
export { Histogram, HistogramChild, DEFAULT_BUCKETS, type HistogramConfiguration, type ObserveWithExemplar } from './metrics/histogram.js';
export { Summary, SummaryChild, type SummaryConfiguration } from './metrics/summary.js';
export { Metric, type MetricValue, type Aggregator } from './metrics/metric.js';
export type { CollectFunction } from './metrics/descriptor.js';
export { linearBuckets, exponentialBuckets } from './metrics/bucket-generators.js';
export { validateMetricName } from './format/names.js';
export type { LabelValues } from './metrics/descriptor.js';
export type { MetricObjectWithValues } from './metrics/metric.js';
export {
  Registry,
  register,
  PROMETHEUS_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
  prometheusContentType,
  openMetricsContentType,
  type RegistryContentType,
  type PrometheusContentType,
  type OpenMetricsContentType,
  type RegistrableMetric,
  type MetricJSON,
} from './collector/registry.js';
export { configure, DIR_ENV, type ConfigureOptions, type Naming } from './storage/config.js';
export { markProcessDead, clearMultiprocDir, type ClearResult } from './storage/directory.js';
export { compact, type CompactionResult } from './storage/compaction.js';
export { MultiprocessRegistry, SKIPPED_FILES_FAMILY, type MultiprocessRegistryOptions } from './collector/multiprocess-registry.js';
export type { Family, Sample } from './collector/family.js';
export { GAUGE_MODES, type GaugeMode } from './format/names.js';
export type { Logger } from './log.js';
export { PromMultiprocError, ValidationError, ConfigError, StorageError, FileFormatError, UnsafeFileError } from './errors.js';
export { collectRuntimeMetrics, DEFAULT_GC_DURATION_BUCKETS, type RuntimeMetricsOptions } from './surfaces/runtime-metrics/index.js';
export { collectDefaultMetrics, type DefaultMetricsCollectorConfiguration } from './surfaces/default-metrics/index.js';
export { metricsHandler, fastifyMetrics, type MetricsSource, type MetricsHandlerOptions, type FastifyMetricsOptions } from './surfaces/handler.js';
export {
  httpMetricsMiddleware,
  fastifyHttpMetrics,
  UNMATCHED_ROUTE,
  ABORTED_STATUS,
  type HttpMetricsOptions,
  type FastifyHttpMetricsOptions,
} from './surfaces/middleware.js';
export type { FastifyInstanceLike, FastifyRequestLike, FastifyReplyLike, FastifyPluginLike } from './surfaces/fastify-types.js';
export { startExporter, type Exporter, type ExporterOptions } from './surfaces/exporter.js';
export { inspectFile, formatInspection, type FileInspection, type InspectedEntry } from './surfaces/inspect.js';

export { Counter, CounterChild, type CounterOptions } from './metrics/counter.js';
export { Gauge, GaugeChild, type GaugeOptions } from './metrics/gauge.js';
export { Histogram, HistogramChild, DEFAULT_BUCKETS, type HistogramOptions } from './metrics/histogram.js';
export { Summary, SummaryChild, type SummaryOptions } from './metrics/summary.js';
export { linearBuckets, exponentialBuckets } from './metrics/bucket-generators.js';
export { validateMetricName } from './format/names.js';
export type { LabelValues } from './metrics/descriptor.js';
export type { MetricObjectWithValues } from './metrics/metric.js';
export { configure, DIR_ENV, type ConfigureOptions } from './storage/config.js';
export { markProcessDead, clearMultiprocDir, type ClearResult } from './storage/directory.js';
export { compact, type CompactionResult } from './storage/compaction.js';
export {
  MultiprocessRegistry,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  openMetricsContentType,
  prometheusContentType,
  SKIPPED_FILES_FAMILY,
  type MetricJSON,
  type OpenMetricsContentType,
  type PrometheusContentType,
  type RegistryContentType,
  type MultiprocessRegistryOptions,
} from './collector/registry.js';
export type { Family, Sample } from './collector/family.js';
export { GAUGE_MODES, type GaugeMode } from './format/names.js';
export type { Logger } from './log.js';
export { PromMultiprocError, ValidationError, ConfigError, StorageError, FileFormatError, UnsafeFileError } from './errors.js';
export { collectRuntimeMetrics, DEFAULT_GC_DURATION_BUCKETS, type RuntimeMetricsOptions } from './surfaces/runtime-metrics/index.js';
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

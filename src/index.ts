export { Counter, CounterChild, type CounterConfiguration, type IncrementWithExemplar } from './metrics/counter.js';
export { Gauge, GaugeChild, type GaugeConfiguration } from './metrics/gauge.js';
export {
  Histogram,
  HistogramChild,
  DEFAULT_BUCKETS,
  DEFAULT_NATIVE_MAX_BUCKETS,
  type HistogramConfiguration,
  type HistogramValues,
  type NativeSeries,
  type ObserveWithExemplar,
} from './metrics/histogram.js';
export { DEFAULT_ZERO_THRESHOLD, type NativeHistogramData } from './format/native-histogram.js';
export { Summary, SummaryChild, type SummaryConfiguration } from './metrics/summary.js';
export { Metric, MetricType, type MetricValue, type Aggregator } from './metrics/metric.js';
export type { CollectFunction } from './metrics/descriptor.js';
export { linearBuckets, exponentialBuckets } from './metrics/bucket-generators.js';
export { validateMetricName } from './format/names.js';
export type { LabelValues } from './metrics/descriptor.js';
export type { MetricObjectWithValues } from './metrics/metric.js';
import { register, type ExpositionContentType } from './collector/registry.js';
export {
  Registry,
  register,
  PROMETHEUS_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_PROTOBUF_CONTENT_TYPE,
  prometheusContentType,
  openMetricsContentType,
  prometheusProtobufContentType,
  type RegistryContentType,
  type ExpositionContentType,
  type PrometheusProtobufContentType,
  type RegistryMetrics,
  type PrometheusContentType,
  type OpenMetricsContentType,
  type RegistrableMetric,
  type MetricJSON,
} from './collector/registry.js';
export { configure, DIR_ENV, type ConfigureOptions, type Naming } from './storage/config.js';
export { markProcessDead, clearMultiprocDir, type ClearResult } from './storage/directory.js';
export { compact, type CompactionResult } from './storage/compaction.js';
export { AggregatorRegistry } from './collector/aggregator-registry.js';
export { aggregators, AggregatorFactory, type AggregatorFunction } from './collector/aggregators.js';
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
export { Pushgateway, PushgatewayError, type PushgatewayRegistry } from './surfaces/pushgateway.js';
export { inspectFile, formatInspection, type FileInspection, type InspectedEntry } from './surfaces/inspect.js';

/** prom-client's `contentType`: the content type of `register`, read and set through this export. */
export declare let contentType: ExpositionContentType;
Object.defineProperty(exports, 'contentType', {
  enumerable: true,
  get: (): ExpositionContentType => register.contentType,
  set: (value: ExpositionContentType): void => {
    register.setContentType(value);
  },
});

// The module itself as its default export: a default import of the package (ESM, or
// TypeScript's esModuleInterop `__importDefault`, as fastify-metrics compiles it) gets prom-client's
// module.exports, and must get this module when prom-client is an alias of it.
const moduleItself = module.exports as typeof import('./index.js');
export default moduleItself;

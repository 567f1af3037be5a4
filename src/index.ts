import type * as RuntimeMetrics from './surfaces/runtime-metrics/index.js';
import type * as DefaultMetrics from './surfaces/default-metrics/index.js';
import type * as Handler from './surfaces/handler.js';
import type * as Middleware from './surfaces/middleware.js';
import type * as ExporterModule from './surfaces/exporter.js';
import type * as Inspect from './surfaces/inspect.js';
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
export { Pushgateway, PushgatewayError, type PushgatewayRegistry } from './surfaces/pushgateway.js';
export type { RuntimeMetricsOptions } from './surfaces/runtime-metrics/index.js';
export type { DefaultMetricsCollectorConfiguration } from './surfaces/default-metrics/index.js';
export type { MetricsSource, MetricsHandlerOptions, FastifyMetricsOptions } from './surfaces/handler.js';
export type { HttpMetricsOptions, FastifyHttpMetricsOptions } from './surfaces/middleware.js';
export type { FastifyInstanceLike, FastifyRequestLike, FastifyReplyLike, FastifyPluginLike } from './surfaces/fastify-types.js';
export type { Exporter, ExporterOptions } from './surfaces/exporter.js';
export type { FileInspection, InspectedEntry } from './surfaces/inspect.js';

/**
 * The surfaces below load at their first use, not with the package: most
 * processes use a metric and a registry and never the default metrics, a
 * handler, the exporter or inspect, and every module a fresh process loads
 * costs it start-up time (docs/benchmarks.md, "Start-up"). Each name is a
 * getter on this module's exports that requires its file once; the types
 * are the files' own. An ES module import reads every getter at once (node
 * copies a CommonJS module's names into its namespace), and finds their names
 * through the bundle's last line (src/bundle.mjs).
 */
function exportOnFirstUse<Module extends object>(load: () => Module, names: readonly (keyof Module & string)[]): void {
  let loaded: Module | undefined;
  // module.exports, not exports: a transform of this file as an ES module (tsx, which the tests run
  // src/ through) replaces module.exports with an object of its own before this runs.
  for (const name of names) Object.defineProperty(module.exports, name, { enumerable: true, get: () => (loaded ??= load())[name] });
}

export declare const collectRuntimeMetrics: typeof RuntimeMetrics.collectRuntimeMetrics;
export declare const DEFAULT_GC_DURATION_BUCKETS: typeof RuntimeMetrics.DEFAULT_GC_DURATION_BUCKETS;
exportOnFirstUse(() => require('./surfaces/runtime-metrics/index.js') as typeof RuntimeMetrics, ['collectRuntimeMetrics', 'DEFAULT_GC_DURATION_BUCKETS']);

export declare const collectDefaultMetrics: typeof DefaultMetrics.collectDefaultMetrics;
exportOnFirstUse(() => require('./surfaces/default-metrics/index.js') as typeof DefaultMetrics, ['collectDefaultMetrics']);

export declare const metricsHandler: typeof Handler.metricsHandler;
export declare const fastifyMetrics: typeof Handler.fastifyMetrics;
exportOnFirstUse(() => require('./surfaces/handler.js') as typeof Handler, ['metricsHandler', 'fastifyMetrics']);

export declare const httpMetricsMiddleware: typeof Middleware.httpMetricsMiddleware;
export declare const fastifyHttpMetrics: typeof Middleware.fastifyHttpMetrics;
export declare const UNMATCHED_ROUTE: typeof Middleware.UNMATCHED_ROUTE;
export declare const ABORTED_STATUS: typeof Middleware.ABORTED_STATUS;
exportOnFirstUse(() => require('./surfaces/middleware.js') as typeof Middleware, ['httpMetricsMiddleware', 'fastifyHttpMetrics', 'UNMATCHED_ROUTE', 'ABORTED_STATUS']);

export declare const startExporter: typeof ExporterModule.startExporter;
exportOnFirstUse(() => require('./surfaces/exporter.js') as typeof ExporterModule, ['startExporter']);

export declare const inspectFile: typeof Inspect.inspectFile;
export declare const formatInspection: typeof Inspect.formatInspection;
exportOnFirstUse(() => require('./surfaces/inspect.js') as typeof Inspect, ['inspectFile', 'formatInspection']);

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

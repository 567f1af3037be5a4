import { ValidationError } from '../errors.js';
import { aggregatorNamed } from './aggregators.js';
import { endOfExposition } from './exposition.js';
import { register, Registry, PROMETHEUS_CONTENT_TYPE, PROMETHEUS_PROTOBUF_CONTENT_TYPE, type MetricJSON, type PrometheusContentType, type RegistrableMetric, type ExpositionContentType, type RegistryMetrics } from './registry.js';

/** The registries clusterMetrics() serves in-process (setRegistries()). */
let aggregated: Registry<ExpositionContentType>[] | undefined;

/**
 * prom-client's AggregatorRegistry, without IPC. prom-client's asks every
 * `node:cluster` worker for its metrics at each scrape and loses a dead
 * worker's counts; here clusterMetrics() serves the merged multiprocess
 * directory, in any process (the primary, a worker, a PM2 sidecar), dead
 * workers' counts included. Without a directory it serves this process's
 * registries (setRegistries(), default `register`), as there is nothing
 * else to read.
 */
export class AggregatorRegistry<T extends ExpositionContentType = PrometheusContentType> extends Registry<T> {
  constructor(contentType: T = PROMETHEUS_CONTENT_TYPE as T) {
    super(contentType);
  }

  protected override servesWholeDirectory(): boolean {
    return true;
  }

  /** prom-client's workers report their setRegistries() registries (default `register`): families only in others are left out. */
  protected override standsFor(): readonly Registry<ExpositionContentType>[] {
    return aggregated ?? [register];
  }

  protected override inProcessMetrics(): RegistrableMetric[] {
    return (aggregated ?? [register]).flatMap((registry) => registry.getMetricsAsArray());
  }

  /**
   * The merged metrics of every process of the directory, in this
   * registry's content type, and '' when it holds no family. Without a
   * directory: this process's registries, and '' when they hold no metric
   * (prom-client's answer with no workers).
   */
  async clusterMetrics(): Promise<RegistryMetrics<T>> {
    // prom-client's answer with no workers: '' (an empty body in protobuf).
    const none = (this.contentType === PROMETHEUS_PROTOBUF_CONTENT_TYPE ? Buffer.alloc(0) : '') as RegistryMetrics<T>;
    if (!this.dir && this.inProcessMetrics().length === 0) return none;
    const exposition = await this.metrics();
    // Not a family in the directory (no worker has written yet).
    return exposition === endOfExposition('openmetrics') ? none : exposition;
  }

  /**
   * prom-client's aggregate(): a registry holding the metrics of several
   * getMetricsAsJSON() results, each metric merged by its `aggregator`.
   */
  static aggregate<C extends ExpositionContentType = PrometheusContentType>(
    metricsArr: ReadonlyArray<readonly MetricJSON[]>,
    contentType: C = PROMETHEUS_CONTENT_TYPE as C,
  ): Registry<C> {
    const registry = new Registry<C>(contentType);
    const byName = new Map<string, MetricJSON[]>();
    for (const metrics of metricsArr) {
      for (const metric of metrics) {
        const group = byName.get(metric.name);
        if (group) group.push(metric);
        else byName.set(metric.name, [metric]);
      }
    }
    for (const group of byName.values()) {
      const merged = aggregatorNamed(group[0].aggregator)(group);
      if (merged) registry.registerMetric({ ...merged, get: () => merged });
    }
    return registry;
  }

  /** The registries whose metrics clusterMetrics() serves without a directory (prom-client: the ones workers report). */
  static setRegistries(registries: Registry<ExpositionContentType> | Registry<ExpositionContentType>[]): void {
    const list = Array.isArray(registries) ? registries : [registries];
    for (const registry of list) {
      if (!(registry instanceof Registry)) throw new ValidationError(`Expected Registry, got ${typeof registry}`);
    }
    aggregated = list;
  }
}

import { isMainThread } from 'node:worker_threads';
import { register, type ExpositionContentType, type Registry } from '../../collector/registry.js';
import type { MetricRegistry } from '../../metrics/registries.js';
import { processStorage } from '../../storage/process-storage.js';

/** prom-client's configuration of collectDefaultMetrics, and of each default metric module. */
export interface DefaultMetricsCollectorConfiguration<T extends ExpositionContentType = ExpositionContentType> {
  /** The registry the metrics join; default `register`. */
  register?: Registry<T>;
  /** Prepended to every metric name. */
  prefix?: string;
  /** Buckets of nodejs_gc_duration_seconds; default [0.001, 0.01, 0.1, 1, 2, 5]. */
  gcDurationBuckets?: number[];
  /** Sampling interval of the event-loop delay monitor, in milliseconds; default 10. */
  eventLoopMonitoringPrecision?: number;
  /** Static labels added to every series. */
  labels?: object;
}

/** A default metric module, as prom-client's lib/metrics/ files are: it makes and registers its metrics. */
export interface DefaultMetricModule {
  (registry?: Registry<ExpositionContentType>, config?: DefaultMetricsCollectorConfiguration): void;
  /** The names of its metrics, without the prefix. */
  metricNames: readonly string[];
}

/** What every module reads of its arguments, as prom-client reads them. */
export interface ModuleSettings {
  /** The metrics' `registers`: the registry given, else undefined (the default registry). */
  registers: MetricRegistry[] | undefined;
  /** The registry they join. */
  home: Registry<ExpositionContentType>;
  prefix: string;
  labels: Record<string, string | number>;
  labelNames: string[];
}

export function settingsOf(registry: Registry<ExpositionContentType> | undefined, config: DefaultMetricsCollectorConfiguration = {}): ModuleSettings {
  const labels = (config.labels ? config.labels : {}) as Record<string, string | number>;
  return { registers: registry ? [registry] : undefined, home: registry ?? register, prefix: config.prefix ? config.prefix : '', labels, labelNames: Object.keys(labels) };
}

/**
 * Whether `metric` is still in the registry it joined. What writes outside
 * a collect() (a GC observer, a value measured a turn of the loop later, the
 * exit handler) asks first: in multiprocess mode a metric taken out of its
 * registry has withdrawn its series from the files, and writing would bring
 * them back; in-process nobody would see the value anyway.
 */
export function stillRegistered(settings: ModuleSettings, metric: { name: string }): boolean {
  return settings.home.getSingleMetric(metric.name) === metric;
}

/**
 * The metrics made for one series set (perSeries) by successive calls:
 * what writes outside a collect() writes through the latest that is still
 * in its registry.
 */
export class LatestRegistered<M extends { name: string }> {
  private made: Array<{ settings: ModuleSettings; metric: M }> = [];

  add(settings: ModuleSettings, metric: M): void {
    this.made = this.made.filter((entry) => stillRegistered(entry.settings, entry.metric));
    this.made.push({ settings, metric });
  }

  current(): M | undefined {
    for (let i = this.made.length - 1; i >= 0; i--) {
      const { settings, metric } = this.made[i];
      if (stillRegistered(settings, metric)) return metric;
    }
    return undefined;
  }
}

/**
 * Whether this thread reports what belongs to the whole process (CPU, start
 * time, resident memory, descriptors, version). In multiprocess mode a worker
 * thread writes files of its own, beside those of the main thread: the
 * process's figures come from the main thread only, or they would be
 * counted once per thread. In-process every thread reports them, as with
 * prom-client.
 */
export function reportsProcessFigures(): boolean {
  return isMainThread || !processStorage().dir;
}

const sharedState = new Map<string, unknown>();

/**
 * State of the measurement behind one series (the CPU seconds already
 * counted, the GC observer). In multiprocess mode every metric of one name
 * in this process writes the same entries of its files, whatever registry it
 * is in (two calls with two registries, or a call after register.clear()),
 * so they share one state and nothing is counted twice; in-process each
 * metric has values of its own, as in prom-client, and so its own state.
 */
export function perSeries<T>(what: string, settings: ModuleSettings, make: () => T): T {
  if (!processStorage().dir) return make();
  const labels = Object.keys(settings.labels)
    .sort()
    .map((name) => [name, String(settings.labels[name])]);
  const key = JSON.stringify([what, settings.prefix, labels]);
  if (!sharedState.has(key)) sharedState.set(key, make());
  return sharedState.get(key) as T;
}

/**
 * What a metric needs of the registries it joins (prom-client's `registers`
 * option). Registries are a collector concept (they serve expositions); this
 * file is the small contract the metrics layer sees, and the default registry
 * the collector layer installs when it is loaded (prom-client's
 * `globalRegistry`, our `register`).
 */

export interface MetricRegistry {
  registerMetric(metric: never): void;
  /** Takes back a metric whose construction failed after it joined (prom-client's registries have it too). */
  removeSingleMetric?(name: string): void;
  readonly contentType: string;
}

let defaultRegistry: MetricRegistry | undefined;

/** Called once by the collector layer: metrics created without `registers` join this one. */
export function installDefaultRegistry(registry: MetricRegistry): void {
  defaultRegistry = registry;
}

/** The registries a metric joins when its configuration names none. */
export function defaultRegistries(): MetricRegistry[] {
  return defaultRegistry ? [defaultRegistry] : [];
}

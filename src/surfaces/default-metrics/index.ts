import { register as defaultRegister, type ExpositionContentType, type Registry } from '../../collector/registry.js';
import { showValue, ValidationError } from '../../errors.js';
import { isLabelName, isMetricName, isWellFormed } from '../../format/names.js';
import { labelText } from '../../metrics/descriptor.js';
import { processStorage } from '../../storage/process-storage.js';
import { hasActiveResources } from '../readings/resources.js';
import { eventLoopLag } from './event-loop-lag.js';
import { gc } from './gc.js';
import { heapSizeAndUsed } from './heap-size-and-used.js';
import { heapSpacesSizeAndUsed } from './heap-spaces-size-and-used.js';
import { osMemoryHeap } from './os-memory-heap.js';
import { processCpuTotal } from './process-cpu-total.js';
import { processHandles } from './process-handles.js';
import { processMaxFileDescriptors } from './process-max-file-descriptors.js';
import { processOpenFileDescriptors } from './process-open-file-descriptors.js';
import { processRequests } from './process-requests.js';
import { processResources } from './process-resources.js';
import { processStartTime } from './process-start-time.js';
import type { DefaultMetricModule, DefaultMetricsCollectorConfiguration } from './settings.js';
import { version } from './version.js';

export type { DefaultMetricsCollectorConfiguration } from './settings.js';

/**
 * prom-client's default metrics, one module per file of this folder as in
 * prom-client's lib/metrics/, in prom-client's order (the order of the
 * families in-process). Each measures through surfaces/readings/, which
 * collectRuntimeMetrics reads too.
 */
const MODULES: Record<string, DefaultMetricModule> = {
  processCpuTotal,
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  eventLoopLag,
  ...(hasActiveResources ? { processResources } : {}),
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
  gc,
};

/** Label names the default metrics use themselves (and `le`, the histogram's). */
const OWN_LABELS = ['type', 'space', 'kind', 'version', 'major', 'minor', 'patch', 'le'];

const CALLER = 'collectDefaultMetrics';

/**
 * Everything a module could refuse, checked before any metric is made, so
 * that a refused call registers nothing (prom-client leaves the metrics made
 * before the one that failed).
 */
function check(config: DefaultMetricsCollectorConfiguration, registry: Registry<ExpositionContentType>): void {
  const { prefix, labels, eventLoopMonitoringPrecision: precision, gcDurationBuckets: buckets } = config;
  if (prefix && (typeof prefix !== 'string' || !isMetricName(`${prefix}x`))) {
    throw new ValidationError(`${CALLER}: prefix must be a string that starts valid metric names, got ${showValue(prefix)}`);
  }
  if (labels && typeof labels !== 'object') throw new ValidationError(`${CALLER}: labels must be an object, got ${showValue(labels)}`);
  const own = processStorage().dir ? [...OWN_LABELS, 'pid'] : OWN_LABELS;
  for (const [name, value] of Object.entries(labels ?? {})) {
    if (!isLabelName(name)) throw new ValidationError(`${CALLER}: invalid label name ${showValue(name)}`);
    if (own.includes(name)) throw new ValidationError(`${CALLER}: label name "${name}" is used by the default metrics themselves (${own.join(', ')})`);
    const text = labelText(value);
    if (text === undefined) throw new ValidationError(`${CALLER}: value of label "${name}" must be a string or number, got ${showValue(value)}`);
    if (!isWellFormed(text)) throw new ValidationError(`${CALLER}: value of label "${name}" is not well-formed UTF-16 (a lone surrogate): ${showValue(text)}`);
  }
  if (precision !== undefined && !(Number.isInteger(precision) && precision >= 1)) {
    throw new ValidationError(`${CALLER}: eventLoopMonitoringPrecision must be a whole number of milliseconds >= 1, got ${showValue(precision)}`);
  }
  if (buckets) {
    const bounds = Array.isArray(buckets) && buckets.at(-1) === Infinity ? buckets.slice(0, -1) : buckets;
    const increasing = Array.isArray(bounds) && bounds.every((b, i) => typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > bounds[i - 1]));
    if (!increasing) throw new ValidationError(`${CALLER}: gcDurationBuckets must be finite numbers in increasing order (a last +Inf is allowed), got ${showValue(buckets)}`);
  }
  for (const module of Object.values(MODULES)) {
    for (const name of module.metricNames) {
      if (registry.getSingleMetric(`${prefix || ''}${name}`)) throw new ValidationError(`A metric with the name ${prefix || ''}${name} has already been registered.`);
    }
  }
}

/**
 * prom-client's collectDefaultMetrics: the process and Node.js metrics it
 * collects, with its names, help texts, types, labels and aggregators,
 * registered in `config.register` (default `register`). Values are read by
 * each metric's collect(), at every scrape: in multiprocess mode every
 * process that calls it writes its own figures when a scrape announces
 * itself, each gauge merged with the mode that fits it
 * (docs/runtime-metrics.md).
 */
export function collectDefaultMetrics<T extends ExpositionContentType>(config?: DefaultMetricsCollectorConfiguration<T>): void {
  if (config !== null && config !== undefined && typeof config !== 'object') {
    throw new ValidationError(`${CALLER}: config must be null, undefined, or an object, got ${showValue(config)}`);
  }
  const settings = { eventLoopMonitoringPrecision: 10, ...config } as DefaultMetricsCollectorConfiguration;
  const registry = (settings.register ?? defaultRegister) as Registry<ExpositionContentType>;
  if (settings.register !== undefined && typeof (settings.register as { registerMetric?: unknown })?.registerMetric !== 'function') {
    throw new ValidationError(`${CALLER}: register must be a Registry, got ${showValue(settings.register)}`);
  }
  check(settings, registry);
  for (const module of Object.values(MODULES)) module(settings.register as Registry<ExpositionContentType> | undefined, settings);
}

/** The names of the default metric modules (prom-client's collectDefaultMetrics.metricsList). */
collectDefaultMetrics.metricsList = Object.keys(MODULES);

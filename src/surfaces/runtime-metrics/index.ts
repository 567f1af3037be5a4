import { ValidationError, showValue } from '../../errors.js';
import { checkLabelNames, isMetricName, isWellFormed } from '../../format/names.js';
import { processStorage } from '../../storage/process-storage.js';
import { onLocalScrape, watchScrapeRequests } from '../../storage/scrape-signal.js';
import type { Measurement } from './measurement.js';
import type * as MeasurementsModule from './measurements.js';

/**
 * prom-client's default metrics for multiprocess files: this file owns the
 * options, the lifecycle (start, stop, one collection per process) and when
 * values are refreshed (when a scrape asks); each measurement is a file of
 * this folder, loaded at the first collectRuntimeMetrics() (measurements.ts),
 * not with the package.
 */

/** prom-client's default buckets of the GC duration histogram, in seconds. */
import { DEFAULT_GC_DURATION_BUCKETS } from '../readings/gc.js';
export { DEFAULT_GC_DURATION_BUCKETS };

export interface RuntimeMetricsOptions {
  /** Prepended to every metric name, as in prom-client's collectDefaultMetrics. */
  prefix?: string;
  /** Static labels added to every series of these metrics. */
  labels?: Record<string, string | number>;
  /** Sampling interval of the event-loop delay monitor, in milliseconds; default 10 (prom-client's). */
  eventLoopMonitoringPrecision?: number;
  /** Buckets of the GC duration histogram, in seconds; default prom-client's [0.001, 0.01, 0.1, 1, 2, 5]. */
  gcDurationBuckets?: number[];
  /** Seconds between refreshes in a process that cannot watch the directory for scrapes; default 10. */
  fallbackRefreshSeconds?: number;
}

const DEFAULT_EVENT_LOOP_PRECISION_MS = 10;
const DEFAULT_FALLBACK_REFRESH_SECONDS = 10;

/** Labels these metrics use themselves; a static label of the same name would clash. */
const RESERVED_LABELS = ['pid', 'le', 'kind', 'type', 'version', 'major', 'minor', 'patch'];

function checkOptions(options: RuntimeMetricsOptions): void {
  if (options === null || typeof options !== 'object') throw new ValidationError('collectRuntimeMetrics: options must be an object');
  if (options.prefix !== undefined && (typeof options.prefix !== 'string' || !isMetricName(`${options.prefix}x`))) {
    throw new ValidationError(`collectRuntimeMetrics: prefix must be a string that starts valid metric names, got ${showValue(options.prefix)}`);
  }
  checkLabelNames('collectRuntimeMetrics', Object.keys(options.labels ?? {}), []);
  for (const [name, value] of Object.entries(options.labels ?? {})) {
    if (RESERVED_LABELS.includes(name)) {
      throw new ValidationError(`collectRuntimeMetrics: label name "${name}" is used by the runtime metrics themselves (${RESERVED_LABELS.join(', ')})`);
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new ValidationError(`collectRuntimeMetrics: value of label "${name}" must be a string or number, got ${typeof value}`);
    }
    // Checked here, before any metric is made: a metric refused halfway through the set would leave the others' names claimed.
    if (typeof value === 'string' && !isWellFormed(value)) {
      throw new ValidationError(`collectRuntimeMetrics: value of label "${name}" is not well-formed UTF-16 (a lone surrogate): ${showValue(value)}`);
    }
  }
  const precision = options.eventLoopMonitoringPrecision;
  if (precision !== undefined && !(Number.isInteger(precision) && precision >= 1)) {
    throw new ValidationError(`collectRuntimeMetrics: eventLoopMonitoringPrecision must be a whole number of milliseconds >= 1, got ${precision}`);
  }
  const buckets = options.gcDurationBuckets;
  if (buckets !== undefined) {
    const increasing = Array.isArray(buckets) && buckets.length > 0 && buckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > buckets[i - 1]));
    if (!increasing) throw new ValidationError(`collectRuntimeMetrics: gcDurationBuckets must be finite numbers in increasing order, got ${JSON.stringify(buckets)}`);
  }
  const fallback = options.fallbackRefreshSeconds;
  if (fallback !== undefined && !(typeof fallback === 'number' && fallback > 0 && Number.isFinite(fallback))) {
    throw new ValidationError(`collectRuntimeMetrics: fallbackRefreshSeconds must be a positive number, got ${fallback}`);
  }
}

const built = new Map<string, Measurement[]>();

/** Writes every value, never throwing: it runs from watch events, timers and the exit handler, where an exception would end the process. */
function refresh(list: readonly Measurement[]): void {
  for (const measurement of list) {
    try {
      measurement.refresh?.();
    } catch {
      // Values stay as they were until the next refresh.
    }
  }
}

interface Running {
  optionsKey: string;
  stop: () => void;
}

let running: Running | undefined;

/**
 * Collects prom-client's default per-process metrics (CPU, memory, heap,
 * event-loop delay, GC, descriptors, handles) into the multiprocess files,
 * each with a merge mode that fits it (see the README's table). Values are
 * refreshed when a scrape asks, so a process that no one scrapes does no
 * work for them. Idempotent: a second call with the same options returns the
 * same stop function. Returns the function that stops collection.
 */
export function collectRuntimeMetrics(options: RuntimeMetricsOptions = {}): () => void {
  checkOptions(options);
  const prefix = options.prefix ?? '';
  const labels: Record<string, string> = {};
  for (const name of Object.keys(options.labels ?? {}).sort()) labels[name] = String(options.labels![name]);
  const precision = options.eventLoopMonitoringPrecision ?? DEFAULT_EVENT_LOOP_PRECISION_MS;
  const fallbackSeconds = options.fallbackRefreshSeconds ?? DEFAULT_FALLBACK_REFRESH_SECONDS;
  const optionsKey = JSON.stringify([prefix, labels, precision, options.gcDurationBuckets ?? null, fallbackSeconds]);
  if (running) {
    if (running.optionsKey === optionsKey) return running.stop;
    throw new ValidationError('collectRuntimeMetrics is already running in this process with other options; call the stop function it returned first');
  }

  const setKey = JSON.stringify([prefix, labels, options.gcDurationBuckets ?? null]);
  let list = built.get(setKey);
  if (!list) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { measurements } = require('./measurements.js') as typeof MeasurementsModule;
    list = measurements(prefix, labels, options.gcDurationBuckets ?? DEFAULT_GC_DURATION_BUCKETS);
    built.set(setKey, list);
  }
  const measured = list;
  const stops = measured.flatMap((measurement) => (measurement.start ? [measurement.start({ eventLoopPrecisionMs: precision })] : []));
  refresh(measured);
  const onScrape = (): void => {
    refresh(measured);
    for (const measurement of measured) measurement.scraped?.();
  };

  const storage = processStorage();
  const stopLocal = onLocalScrape(onScrape);
  const stopWatching = storage.dir
    ? watchScrapeRequests(storage.dir, onScrape, { fallbackSeconds, warn: (message) => storage.logger.warn(message) })
    : () => {};
  // A process that ends normally leaves its final CPU seconds in the file.
  const onExit = (): void => refresh(measured);
  process.on('exit', onExit);

  const stop = (): void => {
    if (running?.stop !== stop) return;
    running = undefined;
    stopLocal();
    stopWatching();
    process.off('exit', onExit);
    for (const stopMeasurement of stops) stopMeasurement();
  };
  running = { optionsKey, stop };
  return stop;
}

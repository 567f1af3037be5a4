import * as fs from 'node:fs';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { ValidationError, showValue } from '../errors.js';
import { checkLabelNames, isMetricName, isWellFormed } from '../format/names.js';
import { Counter, type CounterChild } from '../metrics/counter.js';
import { Gauge, type GaugeChild } from '../metrics/gauge.js';
import { Histogram, type HistogramChild } from '../metrics/histogram.js';
import { processStorage } from '../storage/process-storage.js';
import { onLocalScrape, watchScrapeRequests } from '../storage/scrape-signal.js';

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

export const DEFAULT_GC_DURATION_BUCKETS: readonly number[] = [0.001, 0.01, 0.1, 1, 2, 5];
const DEFAULT_EVENT_LOOP_PRECISION_MS = 10;
const DEFAULT_FALLBACK_REFRESH_SECONDS = 10;
/** Without a scrape for this long, the event-loop delay monitor stops sampling until the next one. */
export const EVENT_LOOP_MONITOR_IDLE_MS = 5 * 60 * 1000;

/** Labels these metrics use themselves; a static label of the same name would clash. */
const RESERVED_LABELS = ['pid', 'le', 'kind', 'type', 'version', 'major', 'minor', 'patch'];

const GC_KINDS: ReadonlyArray<[code: number, kind: string]> = [
  [perfConstants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
];

const LAG_STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;
type LagStat = (typeof LAG_STATS)[number];

/**
 * The metric objects of one prefix and label set. Metric names are claimed
 * for the life of the process, so these are built once and reused when
 * collection is stopped and started again.
 */
interface RuntimeMetricSet {
  /** Process-wide measurements: absent in a worker thread, whose main thread reports them. */
  process?: {
    cpuUser: CounterChild;
    cpuSystem: CounterChild;
    cpuTotal: CounterChild;
    residentMemory: GaugeChild;
    residentMemorySummed: GaugeChild;
    startTime: GaugeChild;
    openFds?: GaugeChild;
    maxFds?: GaugeChild;
    /** process.cpuUsage() as last added to the counters, kept across a stop and restart. */
    reportedCpu: NodeJS.CpuUsage;
  };
  heapTotal: GaugeChild;
  heapTotalSummed: GaugeChild;
  heapUsed: GaugeChild;
  heapUsedSummed: GaugeChild;
  externalMemory: GaugeChild;
  lag: Record<LagStat, GaugeChild>;
  gcByKind: Map<number, HistogramChild>;
  activeResources: Gauge<string>;
  staticLabels: Record<string, string>;
}

const builtSets = new Map<string, RuntimeMetricSet>();

interface Running {
  optionsKey: string;
  stop: () => void;
}

let running: Running | undefined;

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

function buildSet(prefix: string, labels: Record<string, string>, gcBuckets: readonly number[]): RuntimeMetricSet {
  const labelNames = Object.keys(labels);
  const counter = (name: string, help: string): CounterChild =>
    new Counter({ name: prefix + name, help, labelNames }).labels(labels);
  const gauge = (name: string, help: string, multiprocessMode: 'liveall' | 'livesum'): GaugeChild =>
    new Gauge({ name: prefix + name, help, labelNames, multiprocessMode }).labels(labels);

  const gcDuration = new Histogram({
    name: `${prefix}nodejs_gc_duration_seconds`,
    help: 'Garbage collection pauses by kind, in seconds, counted over all processes including those that exited.',
    labelNames: [...labelNames, 'kind'],
    buckets: [...gcBuckets],
  });
  const set: RuntimeMetricSet = {
    heapTotal: gauge('nodejs_heap_size_total_bytes', 'V8 heap size of each live process, in bytes.', 'liveall'),
    heapTotalSummed: gauge('nodejs_heap_size_total_summed_bytes', 'V8 heap size summed over live processes, in bytes.', 'livesum'),
    heapUsed: gauge('nodejs_heap_size_used_bytes', 'V8 heap in use in each live process, in bytes.', 'liveall'),
    heapUsedSummed: gauge('nodejs_heap_size_used_summed_bytes', 'V8 heap in use summed over live processes, in bytes.', 'livesum'),
    externalMemory: gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects in each live process, in bytes.', 'liveall'),
    lag: Object.fromEntries(
      LAG_STATS.map((stat) => [
        stat,
        gauge(`nodejs_eventloop_lag_${stat}_seconds`, `Event-loop delay (${stat}) of each live process since its previous refresh, in seconds.`, 'liveall'),
      ]),
    ) as Record<LagStat, GaugeChild>,
    gcByKind: new Map(GC_KINDS.map(([code, kind]) => [code, gcDuration.labels({ ...labels, kind })])),
    activeResources: new Gauge({
      name: `${prefix}nodejs_active_resources`,
      help: 'Resources keeping the event loop of each live process alive, by type.',
      labelNames: [...labelNames, 'type'],
      multiprocessMode: 'liveall',
    }),
    staticLabels: labels,
  };
  if (isMainThread) {
    const hasProcFs = fs.existsSync('/proc/self/fd');
    set.process = {
      cpuUser: counter('process_cpu_user_seconds', 'User CPU time spent, in seconds, summed over all processes including those that exited.'),
      cpuSystem: counter('process_cpu_system_seconds', 'System CPU time spent, in seconds, summed over all processes including those that exited.'),
      cpuTotal: counter('process_cpu_seconds', 'User and system CPU time spent, in seconds, summed over all processes including those that exited.'),
      residentMemory: gauge('process_resident_memory_bytes', 'Resident memory size of each live process, in bytes.', 'liveall'),
      residentMemorySummed: gauge('process_resident_memory_summed_bytes', 'Resident memory size summed over live processes, in bytes.', 'livesum'),
      startTime: gauge('process_start_time_seconds', 'Start time of each live process since the Unix epoch, in seconds.', 'liveall'),
      openFds: hasProcFs ? gauge('process_open_fds', 'Open file descriptors of each live process.', 'liveall') : undefined,
      maxFds: hasProcFs ? gauge('process_max_fds', 'Limit on open file descriptors of each live process.', 'liveall') : undefined,
      reportedCpu: { user: 0, system: 0 },
    };
    const [major, minor, patch] = process.versions.node.split('.');
    new Gauge({
      name: `${prefix}nodejs_version_info`,
      help: 'Node.js version of each live process.',
      labelNames: [...labelNames, 'version', 'major', 'minor', 'patch'],
      multiprocessMode: 'liveall',
    })
      .labels({ ...labels, version: process.version, major, minor, patch })
      .set(1);
    set.process.startTime.set(Math.round(Date.now() / 1000 - process.uptime()));
  }
  return set;
}

function countOpenFds(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/fd').length - 1; // the listing's own descriptor
  } catch {
    return undefined; // no /proc, or no descriptor left to list it with
  }
}

function readMaxFds(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (!line) return undefined;
    return line[1] === 'unlimited' ? Infinity : Number(line[1]);
  } catch {
    return undefined;
  }
}

/**
 * Writes this process's runtime values into the metric files: what only this
 * process can measure (CPU, memory, heap, event-loop delay, descriptors,
 * handles) at every refresh, GC pauses as they happen.
 */
class RuntimeCollector {
  private readonly lagMonitor: IntervalHistogram;
  private lagMonitorOn = true;
  private readonly lagIdle: NodeJS.Timeout;
  private readonly gcObserver: PerformanceObserver;
  private readonly resourceChildren = new Map<string, GaugeChild>();

  constructor(
    private readonly set: RuntimeMetricSet,
    precisionMs: number,
  ) {
    this.lagMonitor = monitorEventLoopDelay({ resolution: precisionMs });
    this.lagMonitor.enable();
    this.lagIdle = setTimeout(() => this.pauseLagMonitor(), EVENT_LOOP_MONITOR_IDLE_MS);
    this.lagIdle.unref();
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = (entry as { detail?: { kind?: number } | null }).detail?.kind;
        this.set.gcByKind.get(kind ?? -1)?.observe(entry.duration / 1000);
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  /** A scrape asked: refresh, and keep sampling the event loop while scrapes keep coming. */
  onScrape(): void {
    this.refresh();
    if (!this.lagMonitorOn) {
      this.lagMonitor.reset();
      this.lagMonitor.enable();
      this.lagMonitorOn = true;
    }
    this.lagIdle.refresh();
  }

  /**
   * Never throws: it runs from watch events, timers and the exit handler,
   * where an exception would end the process. A process at its descriptor
   * limit cannot read /proc, so some values then stay as they were.
   */
  refresh(): void {
    try {
      this.refreshValues();
    } catch {
      // Values stay as they were until the next refresh.
    }
  }

  private refreshValues(): void {
    const process_ = this.set.process;
    if (process_) {
      const cpu = process.cpuUsage();
      // Counters only ever add what was spent since the last refresh: a file
      // left by an earlier process with the same pid keeps its share.
      const user = Math.max(0, cpu.user - process_.reportedCpu.user) / 1e6;
      const system = Math.max(0, cpu.system - process_.reportedCpu.system) / 1e6;
      process_.reportedCpu = cpu;
      process_.cpuUser.inc(user);
      process_.cpuSystem.inc(system);
      process_.cpuTotal.inc(user + system);
      const fds = process_.openFds ? countOpenFds() : undefined;
      if (fds !== undefined) process_.openFds!.set(fds);
      const maxFds = process_.maxFds ? readMaxFds() : undefined;
      if (maxFds !== undefined) process_.maxFds!.set(maxFds);
    }
    this.refreshLag();
    this.refreshActiveResources();
    this.refreshMemory();
  }

  private refreshMemory(): void {
    // Throws when /proc/self/stat cannot be opened (no descriptor left).
    const memory = process.memoryUsage();
    const process_ = this.set.process;
    if (process_) {
      process_.residentMemory.set(memory.rss);
      process_.residentMemorySummed.set(memory.rss);
    }
    this.set.heapTotal.set(memory.heapTotal);
    this.set.heapTotalSummed.set(memory.heapTotal);
    this.set.heapUsed.set(memory.heapUsed);
    this.set.heapUsedSummed.set(memory.heapUsed);
    this.set.externalMemory.set(memory.external);
  }

  /** The delays since the previous refresh; a window without samples keeps the previous values. */
  private refreshLag(): void {
    const monitor = this.lagMonitor;
    if (monitor.count === 0) return;
    const lag = this.set.lag;
    lag.min.set(monitor.min / 1e9);
    lag.max.set(monitor.max / 1e9);
    lag.mean.set(monitor.mean / 1e9);
    lag.stddev.set(monitor.stddev / 1e9);
    lag.p50.set(monitor.percentile(50) / 1e9);
    lag.p90.set(monitor.percentile(90) / 1e9);
    lag.p99.set(monitor.percentile(99) / 1e9);
    monitor.reset();
  }

  private refreshActiveResources(): void {
    if (typeof process.getActiveResourcesInfo !== 'function') return;
    const counts = new Map<string, number>();
    for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
    for (const [type, child] of this.resourceChildren) if (!counts.has(type)) child.set(0);
    for (const [type, count] of counts) {
      let child = this.resourceChildren.get(type);
      if (!child) {
        child = this.set.activeResources.labels({ ...this.set.staticLabels, type });
        this.resourceChildren.set(type, child);
      }
      child.set(count);
    }
  }

  private pauseLagMonitor(): void {
    this.lagMonitor.disable();
    this.lagMonitorOn = false;
  }

  close(): void {
    clearTimeout(this.lagIdle);
    this.lagMonitor.disable();
    this.gcObserver.disconnect();
  }
}

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
  let set = builtSets.get(setKey);
  if (!set) {
    set = buildSet(prefix, labels, options.gcDurationBuckets ?? DEFAULT_GC_DURATION_BUCKETS);
    builtSets.set(setKey, set);
  }
  const collector = new RuntimeCollector(set, precision);
  collector.refresh();

  const storage = processStorage();
  const stopLocal = onLocalScrape(() => collector.onScrape());
  const stopWatching = storage.dir
    ? watchScrapeRequests(storage.dir, () => collector.onScrape(), {
        fallbackSeconds,
        warn: (message) => storage.logger.warn(message),
      })
    : () => {};
  // A process that ends normally leaves its final CPU seconds in the file.
  const onExit = (): void => collector.refresh();
  process.on('exit', onExit);

  const stop = (): void => {
    if (running?.stop !== stop) return;
    running = undefined;
    stopLocal();
    stopWatching();
    process.off('exit', onExit);
    collector.close();
  };
  running = { optionsKey, stop };
  return stop;
}

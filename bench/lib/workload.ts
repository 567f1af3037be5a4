// The series every writer of the scrape benchmark holds, identical in every
// process (so the merged output has S unique series, as in a real service
// whose workers serve the same routes), and the update loop that keeps the
// writers changing their values while the collector scrapes.

/** Histogram bounds: 8 bounds, so each child owns 9 bucket entries and a _sum entry in the file. */
export const HISTOGRAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** File entries of one histogram child (Python's layout: `_sum` plus one per bucket, +Inf included). */
export const ENTRIES_PER_HISTOGRAM_CHILD = HISTOGRAM_BUCKETS.length + 2;
/** Exposition samples of one histogram child: the buckets, `_sum` and `_count`. */
export const SAMPLES_PER_HISTOGRAM_CHILD = HISTOGRAM_BUCKETS.length + 3;

export const COUNTER = {
  name: 'bench_http_requests_total',
  help: 'HTTP requests handled, by route, method and status.',
  labelNames: ['route', 'method', 'status'] as const,
};
export const HISTOGRAM = {
  name: 'bench_http_request_duration_seconds',
  help: 'HTTP request duration in seconds, by route.',
  labelNames: ['route'] as const,
  buckets: HISTOGRAM_BUCKETS,
};

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const STATUSES = ['200', '500'];
/** Spread over every bucket and past the last bound. */
const OBSERVED = [0.003, 0.008, 0.02, 0.04, 0.07, 0.2, 0.4, 0.8, 1.7, 0.012, 0.06, 0.3];

/**
 * How S series are split: a fifth of the file entries belong to histogram
 * children (10 entries each), the rest are counter children (1 entry each).
 * "Series" counts file entries, which is what the collector reads and merges.
 */
export interface WorkloadShape {
  series: number;
  counterChildren: number;
  histogramChildren: number;
  /** Lines of the exposition that belong to the workload's two families. */
  expectedSamples: number;
}

export function workloadShape(series: number): WorkloadShape {
  const histogramChildren = Math.floor((series * 0.2) / ENTRIES_PER_HISTOGRAM_CHILD);
  const counterChildren = series - histogramChildren * ENTRIES_PER_HISTOGRAM_CHILD;
  return {
    series,
    counterChildren,
    histogramChildren,
    expectedSamples: counterChildren + histogramChildren * SAMPLES_PER_HISTOGRAM_CHILD,
  };
}

export function counterLabelValues(i: number): [string, string, string] {
  return [`/api/v1/items/${Math.floor(i / 8)}`, METHODS[i % 4], STATUSES[Math.floor(i / 4) % 2]];
}

export function histogramLabelValues(i: number): [string] {
  return [`/api/v1/items/${i}`];
}

export interface Incrementable {
  inc(amount?: number): void;
}
export interface Observable {
  observe(value: number): void;
}

/** One update: the next counter child is incremented; every fifth update also observes into the next histogram child. */
export function updater(counters: readonly Incrementable[], histograms: readonly Observable[]): () => void {
  let c = 0;
  let h = 0;
  let n = 0;
  return () => {
    counters[c].inc();
    if (++c === counters.length) c = 0;
    if (histograms.length > 0 && ++n % 5 === 0) {
      histograms[h].observe(OBSERVED[n % OBSERVED.length]);
      if (++h === histograms.length) h = 0;
    }
  };
}

/** Touches every series once, so none is still at its initial 0. */
export function touchAll(counters: readonly Incrementable[], histograms: readonly Observable[]): void {
  for (const child of counters) child.inc();
  histograms.forEach((child, i) => child.observe(OBSERVED[i % OBSERVED.length]));
}

const BATCH = 500;
/**
 * Sleep when ahead of the rate. Each wake-up of a Node process costs CPU
 * (measured here under load: a 50 ms interval alone took 0.6 % of a core),
 * and 64 writers share 2 cores with the collector, so the writers wake 4
 * times a second and do their updates in bursts.
 */
const IDLE_TICK_MS = 250;

/**
 * Runs `update` until stopped, yielding to the event loop after every batch
 * so that IPC and scrape requests are served. With `ratePerSecond` 0 it runs
 * flat out (setImmediate after each batch of 500, the process stays at 100 %
 * CPU); otherwise it keeps to that many updates per second, catching up in
 * batches of at most 500 and sleeping 250 ms when ahead.
 */
export function keepUpdating(update: () => void, ratePerSecond: number): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  const start = performance.now();
  let done = 0;
  const tick = (): void => {
    if (stopped) return;
    let due = BATCH;
    if (ratePerSecond > 0) {
      const target = Math.floor(((performance.now() - start) / 1000) * ratePerSecond);
      // A starved process does not try to make up more than a second of backlog.
      if (target - done > ratePerSecond) done = target - ratePerSecond;
      due = Math.min(BATCH, target - done);
    }
    for (let i = 0; i < due; i++) update();
    done += due;
    timer = ratePerSecond > 0 && due < BATCH ? setTimeout(tick, IDLE_TICK_MS) : setImmediate(tick);
  };
  timer = setImmediate(tick);
  return () => {
    stopped = true;
    if (timer) {
      clearTimeout(timer as NodeJS.Timeout);
      clearImmediate(timer as NodeJS.Immediate);
    }
  };
}

/** Spec a benchmark process receives as JSON in argv[2]. */
export interface WriterSpec {
  series: number;
  /** Updates per second per process; 0 = as fast as possible. */
  updateRate: number;
}

/**
 * Writers started at once: starting all 64 together makes them fight over
 * two cores for minutes (each needs ~1 s of CPU to create 10,000 series);
 * a few at a time finishes sooner.
 */
export const STARTUP_CONCURRENCY = 4;

/** Runs `start(i)` for i < count with at most `concurrency` unfinished at a time, in order. */
export async function startInWaves<T>(count: number, concurrency: number, start: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await start(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

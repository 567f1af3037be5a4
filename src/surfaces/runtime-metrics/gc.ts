import { Histogram } from '../../metrics/histogram.js';
import { GC_KINDS, observeGcPauses } from '../readings/gc.js';
import type { Measurement, MetricMaker } from './measurement.js';


/** GC pauses by kind, written as they happen (a PerformanceObserver costs only when a GC happens). */
export function gcPauses(make: MetricMaker, buckets: readonly number[]): Measurement {
  const duration = new Histogram({
    name: `${make.prefix}nodejs_gc_duration_seconds`,
    help: 'Garbage collection pauses by kind, in seconds, counted over all processes including those that exited.',
    labelNames: [...make.labelNames, 'kind'],
    buckets: [...buckets],
  });
  const byKind = new Map(GC_KINDS.map(([, kind]) => [kind, duration.labels({ ...make.labels, kind })]));
  return {
    start: () => observeGcPauses((kind, seconds) => byKind.get(kind)?.observe(seconds)),
  };
}

import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { Histogram } from '../../metrics/histogram.js';
import type { Measurement, MetricMaker } from './measurement.js';

const GC_KINDS: ReadonlyArray<[code: number, kind: string]> = [
  [perfConstants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
];

/** GC pauses by kind, written as they happen (a PerformanceObserver costs only when a GC happens). */
export function gcPauses(make: MetricMaker, buckets: readonly number[]): Measurement {
  const duration = new Histogram({
    name: `${make.prefix}nodejs_gc_duration_seconds`,
    help: 'Garbage collection pauses by kind, in seconds, counted over all processes including those that exited.',
    labelNames: [...make.labelNames, 'kind'],
    buckets: [...buckets],
  });
  const byKind = new Map(GC_KINDS.map(([code, kind]) => [code, duration.labels({ ...make.labels, kind })]));
  return {
    start(): () => void {
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const kind = (entry as { detail?: { kind?: number } | null }).detail?.kind;
          byKind.get(kind ?? -1)?.observe(entry.duration / 1000);
        }
      });
      observer.observe({ entryTypes: ['gc'] });
      return () => observer.disconnect();
    },
  };
}

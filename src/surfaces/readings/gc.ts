import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';

/** prom-client's buckets of GC pause durations, in seconds. */
export const DEFAULT_GC_DURATION_BUCKETS: readonly number[] = [0.001, 0.01, 0.1, 1, 2, 5];

/** The kinds of GC (the `kind` of a gc performance entry's detail) by name. */
export const GC_KINDS: ReadonlyArray<[code: number, kind: string]> = [
  [perfConstants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
];

const KIND_NAMES = new Map(GC_KINDS);

/**
 * Calls `onPause` with the kind and duration (seconds) of every GC pause of
 * this isolate, as it happens (a PerformanceObserver costs only when a GC
 * happens); pauses of another kind are left out. Returns the stop.
 */
export function observeGcPauses(onPause: (kind: string, seconds: number) => void): () => void {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = KIND_NAMES.get((entry as { detail?: { kind?: number } | null }).detail?.kind ?? -1);
      if (kind !== undefined) onPause(kind, entry.duration / 1000);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

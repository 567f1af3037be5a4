import { isMainThread } from 'node:worker_threads';
import { activeResources } from './active-resources.js';
import { cpuSeconds } from './cpu.js';
import { eventLoopLag } from './event-loop-lag.js';
import { gcPauses } from './gc.js';
import { MetricMaker, type Measurement } from './measurement.js';
import { memory } from './memory.js';
import { fileDescriptors, processInfo } from './process-info.js';

/**
 * The measurements of one prefix, label set and GC buckets, in refresh order
 * (memory last: it throws when no descriptor is left). Metric names are
 * claimed for the life of the process, so these are made once and reused
 * when collection is stopped and started again. In a worker thread, what is
 * the whole process's (CPU, resident memory, start time, descriptors,
 * version) is left to the main thread, so it is not counted twice.
 *
 * Its own module, required by index.ts at the first collectRuntimeMetrics():
 * the measurements and node:worker_threads are not loaded with the package.
 */
export function measurements(prefix: string, labels: Record<string, string>, gcBuckets: readonly number[]): Measurement[] {
  const make = new MetricMaker(prefix, labels);
  const gc = gcPauses(make, gcBuckets);
  const processWide = isMainThread ? [cpuSeconds(make), fileDescriptors(make)] : [];
  const list = [gc, ...processWide, eventLoopLag(make), activeResources(make), memory(make, isMainThread)];
  if (isMainThread) list.push(processInfo(make));
  return list;
}

import { memoryUsage } from '../readings/memory.js';
import type { Measurement, MetricMaker } from './measurement.js';

/** Resident memory (the whole process's: main thread only), V8 heap and external memory (each isolate's). */
export function memory(make: MetricMaker, mainThread: boolean): Measurement {
  const resident = mainThread ? make.gauge('process_resident_memory_bytes', 'Resident memory size of each live process, in bytes.', 'liveall') : undefined;
  const residentSummed = mainThread
    ? make.gauge('process_resident_memory_summed_bytes', 'Resident memory size summed over live processes, in bytes.', 'livesum')
    : undefined;
  const heapTotal = make.gauge('nodejs_heap_size_total_bytes', 'V8 heap size of each live process, in bytes.', 'liveall');
  const heapTotalSummed = make.gauge('nodejs_heap_size_total_summed_bytes', 'V8 heap size summed over live processes, in bytes.', 'livesum');
  const heapUsed = make.gauge('nodejs_heap_size_used_bytes', 'V8 heap in use in each live process, in bytes.', 'liveall');
  const heapUsedSummed = make.gauge('nodejs_heap_size_used_summed_bytes', 'V8 heap in use summed over live processes, in bytes.', 'livesum');
  const external = make.gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects in each live process, in bytes.', 'liveall');
  return {
    refresh(): void {
      const usage = memoryUsage(); // undefined when /proc/self/stat cannot be opened (no descriptor left)
      if (!usage) return;
      resident?.set(usage.rss);
      residentSummed?.set(usage.rss);
      heapTotal.set(usage.heapTotal);
      heapTotalSummed.set(usage.heapTotal);
      heapUsed.set(usage.heapUsed);
      heapUsedSummed.set(usage.heapUsed);
      external.set(usage.external);
    },
  };
}

import { Gauge } from '../../metrics/gauge.js';
import { memoryUsage } from '../readings/memory.js';
import { settingsOf, type DefaultMetricModule } from './settings.js';

const HEAP_TOTAL = 'nodejs_heap_size_total_bytes';
const HEAP_USED = 'nodejs_heap_size_used_bytes';
const EXTERNAL = 'nodejs_external_memory_bytes';

/**
 * The V8 heap of this isolate and the memory of C++ objects bound to it: a
 * level of one process, so `liveall` (one series per live process) rather
 * than prom-client's sum, as for the process's memory.
 */
export const heapSizeAndUsed: DefaultMetricModule = (registry, config) => {
  const { registers, prefix, labels, labelNames } = settingsOf(registry, config);
  const total = new Gauge({
    name: prefix + HEAP_TOTAL,
    help: 'Process heap size from Node.js in bytes.',
    registers,
    labelNames,
    multiprocessMode: 'liveall',
    // This one metric's collect() sets all three.
    collect() {
      const usage = memoryUsage();
      if (!usage) return;
      total.set(labels, usage.heapTotal);
      used.set(labels, usage.heapUsed);
      if (usage.external !== undefined) external.set(labels, usage.external);
    },
  });
  const used = new Gauge({ name: prefix + HEAP_USED, help: 'Process heap size used from Node.js in bytes.', registers, labelNames, multiprocessMode: 'liveall' });
  const external = new Gauge({ name: prefix + EXTERNAL, help: 'Node.js external memory size in bytes.', registers, labelNames, multiprocessMode: 'liveall' });
};
heapSizeAndUsed.metricNames = [HEAP_TOTAL, HEAP_USED, EXTERNAL];

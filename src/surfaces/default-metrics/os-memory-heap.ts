import { Gauge } from '../../metrics/gauge.js';
import { memoryUsage, statusMemory } from '../readings/memory.js';
import { reportsProcessFigures, settingsOf, type DefaultMetricModule } from './settings.js';

const RESIDENT = 'process_resident_memory_bytes';
const VIRTUAL = 'process_virtual_memory_bytes';
const HEAP = 'process_heap_bytes';

/**
 * Memory sizes of the process: on Linux resident, virtual and data segment
 * (/proc/self/status), elsewhere resident only (process.memoryUsage()).
 * prom-client's aggregator (sum) would add the processes' sizes up under
 * a name and help that speak of one process: `liveall` instead, one series
 * per live process (`sum without (pid)` gives the sum).
 */
export const osMemoryHeap: DefaultMetricModule = (registry, config) => {
  if (!reportsProcessFigures()) return;
  const { registers, prefix, labels, labelNames } = settingsOf(registry, config);
  if (process.platform !== 'linux') {
    new Gauge({
      name: prefix + RESIDENT,
      help: 'Resident memory size in bytes.',
      registers,
      labelNames,
      multiprocessMode: 'liveall',
      collect() {
        const usage = memoryUsage();
        if (usage) this.set(labels, usage.rss);
      },
    });
    return;
  }
  const resident = new Gauge({
    name: prefix + RESIDENT,
    help: 'Resident memory size in bytes.',
    registers,
    labelNames,
    multiprocessMode: 'liveall',
    // This one metric's collect() sets all three.
    collect() {
      const sizes = statusMemory();
      if (sizes?.resident !== undefined) resident.set(labels, sizes.resident);
      if (sizes?.virtual !== undefined) virtual.set(labels, sizes.virtual);
      if (sizes?.data !== undefined) heap.set(labels, sizes.data);
    },
  });
  const virtual = new Gauge({ name: prefix + VIRTUAL, help: 'Virtual memory size in bytes.', registers, labelNames, multiprocessMode: 'liveall' });
  const heap = new Gauge({ name: prefix + HEAP, help: 'Process heap size in bytes.', registers, labelNames, multiprocessMode: 'liveall' });
};
osMemoryHeap.metricNames = process.platform === 'linux' ? [RESIDENT, VIRTUAL, HEAP] : [RESIDENT];

import { Gauge } from '../../metrics/gauge.js';
import { heapSpaces } from '../readings/process-info.js';
import { settingsOf, type DefaultMetricModule } from './settings.js';

const SIZES = ['total', 'used', 'available'] as const;
const NAMES = SIZES.map((size) => `nodejs_heap_space_size_${size}_bytes`);

/** The V8 heap spaces of this isolate, by `space`: `liveall` per live process, as for the heap. */
export const heapSpacesSizeAndUsed: DefaultMetricModule = (registry, config) => {
  const { registers, prefix, labels, labelNames } = settingsOf(registry, config);
  const gauge = (size: (typeof SIZES)[number], name: string, collect?: () => void): Gauge =>
    new Gauge({
      name: prefix + name,
      help: `Process heap space size ${size} from Node.js in bytes.`,
      labelNames: ['space', ...labelNames],
      registers,
      multiprocessMode: 'liveall',
      collect,
    });
  // The first metric's collect() sets all three.
  const total = gauge('total', NAMES[0], () => {
    for (const { space, size, used: inUse, available: free } of heapSpaces()) {
      total.set({ space, ...labels }, size);
      used.set({ space, ...labels }, inUse);
      available.set({ space, ...labels }, free);
    }
  });
  const used = gauge('used', NAMES[1]);
  const available = gauge('available', NAMES[2]);
};
heapSpacesSizeAndUsed.metricNames = NAMES;

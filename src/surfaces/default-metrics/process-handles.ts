import { Gauge } from '../../metrics/gauge.js';
import { activeHandles, hasActiveHandles } from '../readings/resources.js';
import { CountsByType } from './by-type.js';
import { settingsOf, type DefaultMetricModule } from './settings.js';

const HANDLES = 'nodejs_active_handles';
const HANDLES_TOTAL = 'nodejs_active_handles_total';

/** Where process._getActiveHandles() exists. One process's handles: `liveall`, as for active resources. */
export const processHandles: DefaultMetricModule = (registry, config) => {
  if (!hasActiveHandles) return;
  const { registers, prefix, labels, labelNames } = settingsOf(registry, config);
  let byType: CountsByType;
  const gauge = new Gauge({
    name: prefix + HANDLES,
    help: 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.',
    labelNames: ['type', ...labelNames],
    registers,
    multiprocessMode: 'liveall',
    collect() {
      const handles = activeHandles();
      if (handles) byType.update(handles.byType);
    },
  });
  byType = new CountsByType(gauge, labels);
  new Gauge({
    name: prefix + HANDLES_TOTAL,
    help: 'Total number of active handles.',
    registers,
    labelNames,
    multiprocessMode: 'liveall',
    collect() {
      const handles = activeHandles();
      if (handles) this.set(labels, handles.total);
    },
  });
};
processHandles.metricNames = [HANDLES, HANDLES_TOTAL];

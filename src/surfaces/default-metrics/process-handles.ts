import { activeHandles, hasActiveHandles } from '../readings/resources.js';
import { activeCountGauges } from './by-type.js';
import { settingsOf, type DefaultMetricModule } from './settings.js';

const HANDLES = 'nodejs_active_handles';

/** Where process._getActiveHandles() exists. One process's handles: `liveall`, as for active resources. */
export const processHandles: DefaultMetricModule = (registry, config) => {
  if (!hasActiveHandles) return;
  activeCountGauges(
    settingsOf(registry, config),
    HANDLES,
    { byType: 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.', total: 'Total number of active handles.' },
    activeHandles,
  );
};
processHandles.metricNames = [HANDLES, `${HANDLES}_total`];

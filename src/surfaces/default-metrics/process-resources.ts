import { activeResources, countEach, hasActiveResources } from '../readings/resources.js';
import { activeCountGauges } from './by-type.js';
import { settingsOf, type DefaultMetricModule } from './settings.js';

const RESOURCES = 'nodejs_active_resources';

/**
 * Where process.getActiveResourcesInfo() exists (Node.js 17.3). What keeps
 * one event loop alive, and a leak of handles, are one process's:
 * `liveall`, one series per live process, not prom-client's sum.
 */
export const processResources: DefaultMetricModule = (registry, config) => {
  if (!hasActiveResources) return;
  activeCountGauges(
    settingsOf(registry, config),
    RESOURCES,
    { byType: 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.', total: 'Total number of active resources.' },
    () => {
      const resources = activeResources() ?? [];
      return { total: resources.length, byType: countEach(resources) };
    },
  );
};
processResources.metricNames = [RESOURCES, `${RESOURCES}_total`];

import { activeRequests, hasActiveRequests } from '../readings/resources.js';
import { activeCountGauges } from './by-type.js';
import { settingsOf, type DefaultMetricModule } from './settings.js';

const REQUESTS = 'nodejs_active_requests';

/** Where process._getActiveRequests() exists. One process's requests: `liveall`, as for active resources. */
export const processRequests: DefaultMetricModule = (registry, config) => {
  if (!hasActiveRequests) return;
  activeCountGauges(
    settingsOf(registry, config),
    REQUESTS,
    { byType: 'Number of active libuv requests grouped by request type. Every request type is C++ class name.', total: 'Total number of active requests.' },
    activeRequests,
  );
};
processRequests.metricNames = [REQUESTS, `${REQUESTS}_total`];

import { Gauge } from '../../metrics/gauge.js';
import { activeRequests, hasActiveRequests } from '../readings/resources.js';
import { CountsByType } from './by-type.js';
import { settingsOf, type DefaultMetricModule } from './settings.js';

const REQUESTS = 'nodejs_active_requests';
const REQUESTS_TOTAL = 'nodejs_active_requests_total';

/** Where process._getActiveRequests() exists. One process's requests: `liveall`, as for active resources. */
export const processRequests: DefaultMetricModule = (registry, config) => {
  if (!hasActiveRequests) return;
  const { registers, prefix, labels, labelNames } = settingsOf(registry, config);
  let byType: CountsByType;
  const gauge = new Gauge({
    name: prefix + REQUESTS,
    help: 'Number of active libuv requests grouped by request type. Every request type is C++ class name.',
    labelNames: ['type', ...labelNames],
    registers,
    multiprocessMode: 'liveall',
    collect() {
      const requests = activeRequests();
      if (requests) byType.update(requests.byType);
    },
  });
  byType = new CountsByType(gauge, labels);
  new Gauge({
    name: prefix + REQUESTS_TOTAL,
    help: 'Total number of active requests.',
    registers,
    labelNames,
    multiprocessMode: 'liveall',
    collect() {
      const requests = activeRequests();
      if (requests) this.set(labels, requests.total);
    },
  });
};
processRequests.metricNames = [REQUESTS, REQUESTS_TOTAL];

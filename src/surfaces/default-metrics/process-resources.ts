import { Gauge } from '../../metrics/gauge.js';
import { activeResources, countEach, hasActiveResources } from '../readings/resources.js';
import { CountsByType } from './by-type.js';
import { settingsOf, type DefaultMetricModule } from './settings.js';

const RESOURCES = 'nodejs_active_resources';
const RESOURCES_TOTAL = 'nodejs_active_resources_total';

/**
 * Where process.getActiveResourcesInfo() exists (Node.js 17.3). What keeps
 * one event loop alive, and a leak of handles, are one process's:
 * `liveall`, one series per live process, not prom-client's sum.
 */
export const processResources: DefaultMetricModule = (registry, config) => {
  if (!hasActiveResources) return;
  const { registers, prefix, labels, labelNames } = settingsOf(registry, config);
  let byType: CountsByType;
  const gauge = new Gauge({
    name: prefix + RESOURCES,
    help: 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
    labelNames: ['type', ...labelNames],
    registers,
    multiprocessMode: 'liveall',
    collect() {
      byType.update(countEach(activeResources() ?? []));
    },
  });
  byType = new CountsByType(gauge, labels);
  new Gauge({
    name: prefix + RESOURCES_TOTAL,
    help: 'Total number of active resources.',
    registers,
    labelNames,
    multiprocessMode: 'liveall',
    collect() {
      this.set(labels, activeResources()?.length ?? 0);
    },
  });
};
processResources.metricNames = [RESOURCES, RESOURCES_TOTAL];

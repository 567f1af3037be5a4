import { Gauge, type GaugeChild } from '../../metrics/gauge.js';
import { activeResources as readActiveResources, countEach } from '../readings/resources.js';
import type { Measurement, MetricMaker } from './measurement.js';

/** Resources keeping the event loop alive, by type (process.getActiveResourcesInfo); a type that is gone goes to 0. */
export function activeResources(make: MetricMaker): Measurement {
  const gauge = new Gauge({
    name: `${make.prefix}nodejs_active_resources`,
    help: 'Resources keeping the event loop of each live process alive, by type.',
    labelNames: [...make.labelNames, 'type'],
    multiprocessMode: 'liveall',
  });
  const children = new Map<string, GaugeChild>();
  return {
    refresh(): void {
      const resources = readActiveResources();
      if (!resources) return;
      const counts = countEach(resources);
      for (const [type, child] of children) if (!counts.has(type)) child.set(0);
      for (const [type, count] of counts) {
        let child = children.get(type);
        if (!child) {
          child = gauge.labels({ ...make.labels, type });
          children.set(type, child);
        }
        child.set(count);
      }
    },
  };
}

import { Gauge } from '../../metrics/gauge.js';
import { readMaxFds } from '../readings/descriptors.js';
import { reportsProcessFigures, settingsOf, type DefaultMetricModule } from './settings.js';

const MAX_FDS = 'process_max_fds';

/**
 * Where /proc/self/limits can be read. A sum of limits means nothing:
 * `liveall`, each live process's own limit, not prom-client's sum.
 */
export const processMaxFileDescriptors: DefaultMetricModule = (registry, config) => {
  if (readMaxFds() === undefined || !reportsProcessFigures()) return;
  const { registers, prefix, labels, labelNames } = settingsOf(registry, config);
  new Gauge({
    name: prefix + MAX_FDS,
    help: 'Maximum number of open file descriptors.',
    registers,
    labelNames,
    multiprocessMode: 'liveall',
    collect() {
      const limit = readMaxFds();
      if (limit !== undefined) this.set(labels, limit);
    },
  });
};
processMaxFileDescriptors.metricNames = [MAX_FDS];

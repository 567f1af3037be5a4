import { Gauge } from '../../metrics/gauge.js';
import { countOpenFds } from '../readings/descriptors.js';
import { reportsProcessFigures, settingsOf, type DefaultMetricModule } from './settings.js';

const OPEN_FDS = 'process_open_fds';

/**
 * Linux only. A leak is one process's, to be compared with its own limit:
 * `liveall`, one series per live process, not prom-client's sum.
 */
export const processOpenFileDescriptors: DefaultMetricModule = (registry, config) => {
  if (process.platform !== 'linux' || !reportsProcessFigures()) return;
  const { registers, prefix, labels, labelNames } = settingsOf(registry, config);
  new Gauge({
    name: prefix + OPEN_FDS,
    help: 'Number of open file descriptors.',
    registers,
    labelNames,
    multiprocessMode: 'liveall',
    collect() {
      const open = countOpenFds();
      if (open !== undefined) this.set(labels, open);
    },
  });
};
processOpenFileDescriptors.metricNames = [OPEN_FDS];

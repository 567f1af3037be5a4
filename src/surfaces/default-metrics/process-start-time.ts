import { Gauge } from '../../metrics/gauge.js';
import { PROCESS_START_SECONDS } from '../readings/process-info.js';
import { reportsProcessFigures, settingsOf, type DefaultMetricModule } from './settings.js';

const START_TIME = 'process_start_time_seconds';

/**
 * prom-client's aggregator `omit` would keep it out of the files, so a
 * scrape would show the start of whichever process serves it: `liveall`
 * instead, one series per live process (a restart is a new series).
 */
export const processStartTime: DefaultMetricModule = (registry, config) => {
  if (!reportsProcessFigures()) return;
  const { registers, prefix, labels, labelNames } = settingsOf(registry, config);
  new Gauge({
    name: prefix + START_TIME,
    help: 'Start time of the process since unix epoch in seconds.',
    registers,
    labelNames,
    aggregator: 'omit',
    multiprocessMode: 'liveall',
    collect() {
      this.set(labels, PROCESS_START_SECONDS);
    },
  });
};
processStartTime.metricNames = [START_TIME];

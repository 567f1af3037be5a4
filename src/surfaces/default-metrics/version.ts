import { Gauge } from '../../metrics/gauge.js';
import { NODE_VERSION } from '../readings/process-info.js';
import { reportsProcessFigures, settingsOf, type DefaultMetricModule } from './settings.js';

const VERSION_INFO = 'nodejs_version_info';

/**
 * Always 1, labelled with the version. prom-client's aggregator `first`
 * is `livemostrecent`: one series per version that a live process runs
 * (two during a rolling upgrade), not one per process. Set in collect(),
 * so it is back after a reset of the registry.
 */
export const version: DefaultMetricModule = (registry, config) => {
  if (!reportsProcessFigures()) return;
  const { registers, prefix, labels, labelNames } = settingsOf(registry, config);
  const { version: text, major, minor, patch } = NODE_VERSION;
  new Gauge({
    name: prefix + VERSION_INFO,
    help: 'Node.js version info.',
    labelNames: ['version', 'major', 'minor', 'patch', ...labelNames],
    registers,
    aggregator: 'first',
    collect() {
      this.labels(text, major, minor, patch, ...(Object.values(labels) as Array<string | number>)).set(1);
    },
  });
};
version.metricNames = [VERSION_INFO];

import { Gauge } from '../../metrics/gauge.js';
import { countOpenFds, hasDescriptorList, readMaxFds } from '../readings/descriptors.js';
import { NODE_VERSION, PROCESS_START_SECONDS } from '../readings/process-info.js';
import type { Measurement, MetricMaker } from './measurement.js';

/** Start time and Node.js version of the process (main thread only): written once. */
export function processInfo(make: MetricMaker): Measurement {
  const { version, major, minor, patch } = NODE_VERSION;
  new Gauge({
    name: `${make.prefix}nodejs_version_info`,
    help: 'Node.js version of each live process.',
    labelNames: [...make.labelNames, 'version', 'major', 'minor', 'patch'],
    multiprocessMode: 'liveall',
  })
    .labels({ ...make.labels, version, major: String(major), minor: String(minor), patch: String(patch) })
    .set(1);
  make.gauge('process_start_time_seconds', 'Start time of each live process since the Unix epoch, in seconds.', 'liveall').set(PROCESS_START_SECONDS);
  return {};
}

/** Open descriptors and their limit (main thread only), where /proc tells them. */
export function fileDescriptors(make: MetricMaker): Measurement {
  if (!hasDescriptorList()) return {};
  const open = make.gauge('process_open_fds', 'Open file descriptors of each live process.', 'liveall');
  const max = make.gauge('process_max_fds', 'Limit on open file descriptors of each live process.', 'liveall');
  return {
    refresh(): void {
      const fds = countOpenFds();
      if (fds !== undefined) open.set(fds);
      const limit = readMaxFds();
      if (limit !== undefined) max.set(limit);
    },
  };
}

import * as fs from 'node:fs';
import { Gauge } from '../../metrics/gauge.js';
import type { Measurement, MetricMaker } from './measurement.js';

/** Start time and Node.js version of the process (main thread only): written once. */
export function processInfo(make: MetricMaker): Measurement {
  const [major, minor, patch] = process.versions.node.split('.');
  new Gauge({
    name: `${make.prefix}nodejs_version_info`,
    help: 'Node.js version of each live process.',
    labelNames: [...make.labelNames, 'version', 'major', 'minor', 'patch'],
    multiprocessMode: 'liveall',
  })
    .labels({ ...make.labels, version: process.version, major, minor, patch })
    .set(1);
  make
    .gauge('process_start_time_seconds', 'Start time of each live process since the Unix epoch, in seconds.', 'liveall')
    .set(Math.round(Date.now() / 1000 - process.uptime()));
  return {};
}

/** Open descriptors and their limit (main thread only), where /proc tells them. */
export function fileDescriptors(make: MetricMaker): Measurement {
  if (!fs.existsSync('/proc/self/fd')) return {};
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

function countOpenFds(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/fd').length - 1; // the listing's own descriptor
  } catch {
    return undefined; // no /proc, or no descriptor left to list it with
  }
}

function readMaxFds(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (!line) return undefined;
    return line[1] === 'unlimited' ? Infinity : Number(line[1]);
  } catch {
    return undefined;
  }
}

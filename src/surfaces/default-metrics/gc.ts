import { Histogram } from '../../metrics/histogram.js';
import { DEFAULT_GC_DURATION_BUCKETS, observeGcPauses } from '../readings/gc.js';
import { perSeries, settingsOf, type DefaultMetricModule } from './settings.js';

const GC_DURATION = 'nodejs_gc_duration_seconds';

/**
 * GC pauses by kind, observed as they happen; a histogram, summed over every
 * process of the directory, those that exited included. In multiprocess mode
 * one observer writes each series set (the latest histogram made for it), so
 * a second call does not count pauses twice.
 */
export const gc: DefaultMetricModule = (registry, config = {}) => {
  const settings = settingsOf(registry, config);
  const { registers, prefix, labels, labelNames } = settings;
  const histogram = new Histogram({
    name: prefix + GC_DURATION,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind', ...labelNames],
    enableExemplars: false,
    buckets: config.gcDurationBuckets ? config.gcDurationBuckets : [...DEFAULT_GC_DURATION_BUCKETS],
    registers,
  });
  const target = perSeries('gc', settings, () => {
    const state = { histogram };
    observeGcPauses((kind, seconds) => state.histogram.observe({ kind, ...labels }, seconds));
    return state;
  });
  target.histogram = histogram;
};
gc.metricNames = [GC_DURATION];

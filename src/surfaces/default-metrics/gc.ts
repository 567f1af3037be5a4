import { Histogram } from '../../metrics/histogram.js';
import { DEFAULT_GC_DURATION_BUCKETS, observeGcPauses } from '../readings/gc.js';
import { LatestRegistered, perSeries, settingsOf, type DefaultMetricModule } from './settings.js';

const GC_DURATION = 'nodejs_gc_duration_seconds';

/**
 * GC pauses by kind, observed as they happen; a histogram, summed over every
 * process of the directory, those that exited included. In multiprocess mode
 * one observer writes each series set (into the latest histogram made for
 * it that is still registered), so a second call does not count pauses
 * twice, and a histogram taken out of its registry gets no more.
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
  const histograms = perSeries('gc', settings, () => {
    const made = new LatestRegistered<Histogram>();
    observeGcPauses((kind, seconds) => made.current()?.observe({ kind, ...labels }, seconds));
    return made;
  });
  histograms.add(settings, histogram);
};
gc.metricNames = [GC_DURATION];

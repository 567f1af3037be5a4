// A writer of the native histogram scrape benchmark: S histogram series, each
// with 24 observations spread over six decades (so a series holds some 70
// native buckets at factor 1.1), with native buckets beside the classic ones
// (argv[2] 'native') or classic ones alone ('classic'); then it reports
// {type: 'ready'} and exits when its parent disconnects.
import { Histogram } from '../../src/index.js';
import { HISTOGRAM, histogramLabelValues } from '../lib/workload.js';

const [kind, seriesText] = process.argv.slice(2);
const histogram = new Histogram({
  name: HISTOGRAM.name,
  help: HISTOGRAM.help,
  labelNames: [...HISTOGRAM.labelNames],
  buckets: HISTOGRAM.buckets,
  ...(kind === 'native' ? { nativeHistogramBucketFactor: 1.1 } : {}),
});
for (let i = 0; i < Number(seriesText); i++) {
  const child = histogram.labels(...histogramLabelValues(i));
  for (let k = 0; k < 24; k++) child.observe(1e-4 * 10 ** ((k * 6) / 24) * (1 + ((i + k) % 7) / 10));
}
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready', pid: process.pid });

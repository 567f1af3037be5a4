// A writer of the scrape benchmark using this library: creates the workload's
// series in the files of PROMETHEUS_MULTIPROC_DIR, reports {type: 'ready'} and
// keeps updating them until its parent disconnects or kills it.
import { Counter, Histogram } from '../../src/index.js';
import { COUNTER, HISTOGRAM, counterLabelValues, histogramLabelValues, keepUpdating, touchAll, updater, workloadShape, type WriterSpec } from '../lib/workload.js';

const spec = JSON.parse(process.argv[2]) as WriterSpec;
const shape = workloadShape(spec.series);

const counter = new Counter({ name: COUNTER.name, help: COUNTER.help, labelNames: [...COUNTER.labelNames] });
const histogram = new Histogram({ name: HISTOGRAM.name, help: HISTOGRAM.help, labelNames: [...HISTOGRAM.labelNames], buckets: HISTOGRAM.buckets });
const counters = Array.from({ length: shape.counterChildren }, (_, i) => counter.labels(...counterLabelValues(i)));
const histograms = Array.from({ length: shape.histogramChildren }, (_, i) => histogram.labels(...histogramLabelValues(i)));
touchAll(counters, histograms);

process.on('disconnect', () => process.exit(0));
keepUpdating(updater(counters, histograms), spec.updateRate);
process.send!({ type: 'ready', pid: process.pid });

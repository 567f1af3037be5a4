// A node:cluster worker of the prom-client comparison: holds the workload's
// series in prom-client's global registry, answers the primary's
// AggregatorRegistry requests, and keeps updating the series. It exits when
// the primary goes away (node:cluster's default).
import * as client from 'prom-client';
import { COUNTER, HISTOGRAM, counterLabelValues, histogramLabelValues, keepUpdating, touchAll, updater, workloadShape, type WriterSpec } from '../lib/workload.js';

const spec = JSON.parse(process.argv[2]) as WriterSpec;
const shape = workloadShape(spec.series);

// Constructing one installs the worker's listener for the primary's metric requests.
new client.AggregatorRegistry();
const counter = new client.Counter({ name: COUNTER.name, help: COUNTER.help, labelNames: [...COUNTER.labelNames] });
const histogram = new client.Histogram({ name: HISTOGRAM.name, help: HISTOGRAM.help, labelNames: [...HISTOGRAM.labelNames], buckets: HISTOGRAM.buckets });
const counters = Array.from({ length: shape.counterChildren }, (_, i) => counter.labels(...counterLabelValues(i)));
const histograms = Array.from({ length: shape.histogramChildren }, (_, i) => histogram.labels(...histogramLabelValues(i)));
touchAll(counters, histograms);

keepUpdating(updater(counters, histograms), spec.updateRate);
process.send!({ type: 'bench-ready', pid: process.pid });

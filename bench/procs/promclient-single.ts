// prom-client in one process holding the workload's S unique series (the
// baseline of a service without workers): times registry.metrics() while the
// series keep being updated between scrapes, and sends {type: 'result', stats}.
import * as client from 'prom-client';
import { measureScrapes, type ScrapeOptions } from '../lib/measure.js';
import { COUNTER, HISTOGRAM, counterLabelValues, histogramLabelValues, keepUpdating, touchAll, updater, workloadShape, type WriterSpec } from '../lib/workload.js';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as WriterSpec;
  const options = JSON.parse(process.argv[3]) as ScrapeOptions & { samplePrefix: string };
  const shape = workloadShape(spec.series);
  const registry = new client.Registry();
  const counter = new client.Counter({ name: COUNTER.name, help: COUNTER.help, labelNames: [...COUNTER.labelNames], registers: [registry] });
  const histogram = new client.Histogram({
    name: HISTOGRAM.name,
    help: HISTOGRAM.help,
    labelNames: [...HISTOGRAM.labelNames],
    buckets: HISTOGRAM.buckets,
    registers: [registry],
  });
  const counters = Array.from({ length: shape.counterChildren }, (_, i) => counter.labels(...counterLabelValues(i)));
  const histograms = Array.from({ length: shape.histogramChildren }, (_, i) => histogram.labels(...histogramLabelValues(i)));
  touchAll(counters, histograms);
  const stop = keepUpdating(updater(counters, histograms), spec.updateRate);
  const stats = await measureScrapes(() => registry.metrics(), options.samplePrefix, options);
  stop();
  process.send!({ type: 'result', stats }, () => process.disconnect());
}

main().catch((err: unknown) => {
  process.send!({ type: 'error', message: (err as Error).stack ?? String(err) }, () => process.exit(1));
});

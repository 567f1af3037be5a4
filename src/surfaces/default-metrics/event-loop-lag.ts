import { Gauge } from '../../metrics/gauge.js';
import { EventLoopDelay, measureImmediateLag, type DelayFigures } from '../readings/event-loop.js';
import { settingsOf, stillRegistered, type DefaultMetricModule } from './settings.js';

const LAG = 'nodejs_eventloop_lag_seconds';

/** The delay monitor's figures, with prom-client's names and help texts. */
const FIGURES: ReadonlyArray<[figure: keyof DelayFigures, name: string, help: string]> = [
  ['min', 'nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.'],
  ['max', 'nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.'],
  ['mean', 'nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.'],
  ['stddev', 'nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.'],
  ['p50', 'nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.'],
  ['p90', 'nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.'],
  ['p99', 'nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.'],
];

/** prom-client's aggregator of each figure (its cluster mode averaged the others). */
const AGGREGATOR: Partial<Record<keyof DelayFigures, 'min' | 'max'>> = { min: 'min', max: 'max' };

/**
 * The time a setImmediate() takes to run (measured at each collection,
 * written when it has run: a scrape shows the previous one's), and the
 * delay monitor's figures since the previous collection (a window without
 * samples leaves them as they were). A stuck loop is one process's problem,
 * and means, deviations and percentiles of several processes do not
 * combine: every figure is `liveall`, one series per live process.
 * prom-client's `average` gives that already; its `min` and `max` are
 * overridden so that the figures of one process stay together
 * (`max without (pid)` gives prom-client's number).
 */
export const eventLoopLag: DefaultMetricModule = (registry, config = {}) => {
  const settings = settingsOf(registry, config);
  const { registers, prefix, labels, labelNames } = settings;
  const delay = new EventLoopDelay(config.eventLoopMonitoringPrecision ?? 10);
  const lag = new Gauge({
    name: prefix + LAG,
    help: 'Lag of event loop in seconds.',
    registers,
    labelNames,
    aggregator: 'average',
    // This one metric's collect() sets all eight.
    collect() {
      measureImmediateLag((seconds) => {
        if (stillRegistered(settings, lag)) lag.set(labels, seconds);
      });
      delay.keepAwake();
      const figures = delay.take();
      for (const [figure, gauge] of gauges) {
        if (figures) gauge.set(labels, figures[figure]);
        else gauge.labels(labels); // no samples yet: the series is there, at its last value
      }
    },
  });
  const gauges = FIGURES.map(
    ([figure, name, help]) =>
      [figure, new Gauge({ name: prefix + name, help, registers, labelNames, aggregator: AGGREGATOR[figure] ?? 'average', multiprocessMode: 'liveall' })] as const,
  );
};
eventLoopLag.metricNames = [LAG, ...FIGURES.map(([, name]) => name)];

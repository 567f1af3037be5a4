import { EventLoopDelay, type DelayFigures } from '../readings/event-loop.js';
import type { GaugeChild } from '../../metrics/gauge.js';
import type { Measurement, MetricMaker } from './measurement.js';

const LAG_STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;

/**
 * Event-loop delay since the previous refresh, sampled in native code every
 * `eventLoopPrecisionMs` while scrapes come; a window without samples keeps the
 * previous values.
 */
export function eventLoopLag(make: MetricMaker): Measurement {
  const lag = Object.fromEntries(
    LAG_STATS.map((stat) => [
      stat,
      make.gauge(`nodejs_eventloop_lag_${stat}_seconds`, `Event-loop delay (${stat}) of each live process since its previous refresh, in seconds.`, 'liveall'),
    ]),
  ) as Record<keyof DelayFigures, GaugeChild>;
  let running: EventLoopDelay | undefined;
  return {
    start({ eventLoopPrecisionMs }): () => void {
      const delay = new EventLoopDelay(eventLoopPrecisionMs);
      running = delay;
      return () => {
        delay.stop();
        if (running === delay) running = undefined;
      };
    },
    refresh(): void {
      const figures = running?.take();
      if (!figures) return;
      for (const stat of LAG_STATS) lag[stat].set(figures[stat]);
    },
    /** Keeps sampling while scrapes keep coming. */
    scraped(): void {
      running?.keepAwake();
    },
  };
}

import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { GaugeChild } from '../../metrics/gauge.js';
import type { Measurement, MetricMaker } from './measurement.js';

/** Without a scrape for this long, the event-loop delay monitor stops sampling until the next one. */
const EVENT_LOOP_MONITOR_IDLE_MS = 5 * 60 * 1000;

const LAG_STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;
type LagStat = (typeof LAG_STATS)[number];

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
  ) as Record<LagStat, GaugeChild>;
  let running: { monitor: ReturnType<typeof monitorEventLoopDelay>; idle: NodeJS.Timeout; on: boolean } | undefined;
  return {
    start({ eventLoopPrecisionMs }): () => void {
      const monitor = monitorEventLoopDelay({ resolution: eventLoopPrecisionMs });
      monitor.enable();
      const state = { monitor, on: true, idle: setTimeout(() => pause(), EVENT_LOOP_MONITOR_IDLE_MS) };
      const pause = (): void => {
        monitor.disable();
        state.on = false;
      };
      state.idle.unref();
      running = state;
      return () => {
        clearTimeout(state.idle);
        monitor.disable();
        if (running === state) running = undefined;
      };
    },
    refresh(): void {
      const monitor = running?.monitor;
      if (!monitor || monitor.count === 0) return;
      lag.min.set(monitor.min / 1e9);
      lag.max.set(monitor.max / 1e9);
      lag.mean.set(monitor.mean / 1e9);
      lag.stddev.set(monitor.stddev / 1e9);
      lag.p50.set(monitor.percentile(50) / 1e9);
      lag.p90.set(monitor.percentile(90) / 1e9);
      lag.p99.set(monitor.percentile(99) / 1e9);
      monitor.reset();
    },
    /** Keeps sampling while scrapes keep coming. */
    scraped(): void {
      if (!running) return;
      if (!running.on) {
        running.monitor.reset();
        running.monitor.enable();
        running.on = true;
      }
      running.idle.refresh();
    },
  };
}

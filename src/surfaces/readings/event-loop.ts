import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Without a reading for this long, the delay monitor stops sampling until the next one. */
export const EVENT_LOOP_MONITOR_IDLE_MS = 5 * 60 * 1000;

/** Event-loop delay figures of one window, in seconds. */
export interface DelayFigures {
  min: number;
  max: number;
  mean: number;
  stddev: number;
  p50: number;
  p90: number;
  p99: number;
}

/**
 * The event-loop delay of this thread (perf_hooks.monitorEventLoopDelay,
 * sampled in native code every `resolutionMs`), in windows that end at each
 * take(). Without a take() for EVENT_LOOP_MONITOR_IDLE_MS it stops sampling;
 * keepAwake() starts it again.
 */
export class EventLoopDelay {
  private readonly monitor: ReturnType<typeof monitorEventLoopDelay>;
  private readonly idle: NodeJS.Timeout;
  private sampling = true;

  /** Throws RangeError for a resolution that is not a whole number of milliseconds >= 1. */
  constructor(resolutionMs: number) {
    this.monitor = monitorEventLoopDelay({ resolution: resolutionMs });
    this.monitor.enable();
    this.idle = setTimeout(() => this.pause(), EVENT_LOOP_MONITOR_IDLE_MS);
    this.idle.unref();
  }

  /** The figures since the previous take(), then a new window; undefined (and the same window) when it has no samples yet. */
  take(): DelayFigures | undefined {
    const monitor = this.monitor;
    if (monitor.count === 0) return undefined;
    const figures = {
      min: monitor.min / 1e9,
      max: monitor.max / 1e9,
      mean: monitor.mean / 1e9,
      stddev: monitor.stddev / 1e9,
      p50: monitor.percentile(50) / 1e9,
      p90: monitor.percentile(90) / 1e9,
      p99: monitor.percentile(99) / 1e9,
    };
    monitor.reset();
    return figures;
  }

  /** Someone reads the figures: keep sampling (again, after an idle pause) for another idle period. */
  keepAwake(): void {
    if (!this.sampling) {
      this.monitor.reset();
      this.monitor.enable();
      this.sampling = true;
    }
    this.idle.refresh();
  }

  stop(): void {
    clearTimeout(this.idle);
    this.pause();
  }

  private pause(): void {
    this.monitor.disable();
    this.sampling = false;
  }
}

/**
 * How long the event loop takes to come back to a setImmediate() queued
 * now: `report` gets the seconds once it has (a turn of the loop later).
 */
export function measureImmediateLag(report: (seconds: number) => void): void {
  const start = process.hrtime.bigint();
  setImmediate(() => report(Number(process.hrtime.bigint() - start) / 1e9));
}

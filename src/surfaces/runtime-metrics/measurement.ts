import { Counter, type CounterChild } from '../../metrics/counter.js';
import { Gauge, type GaugeChild } from '../../metrics/gauge.js';

/**
 * What each runtime measurement (one file per measurement in this folder)
 * gives the lifecycle in index.ts: metrics made once, values written at
 * each refresh, and what runs between refreshes.
 */
export interface Measurement {
  /** Writes the current values; may throw (a process at its descriptor limit cannot read /proc): the caller goes on with the others. */
  refresh?(): void;
  /** Starts what samples between refreshes (a monitor, an observer); returns its stop. */
  start?(settings: StartSettings): () => void;
  /** A scrape asked, and the values were refreshed. */
  scraped?(): void;
}

/** What may differ from one start of collection to the next: the metrics stay, the sampling changes. */
export interface StartSettings {
  eventLoopPrecisionMs: number;
}

/** Makes the metrics of one prefix and set of static labels. */
export class MetricMaker {
  readonly labelNames: string[];

  constructor(
    readonly prefix: string,
    /** Static labels, added to every series. */
    readonly labels: Record<string, string>,
  ) {
    this.labelNames = Object.keys(labels);
  }

  counter(name: string, help: string): CounterChild {
    return new Counter({ name: this.prefix + name, help, labelNames: this.labelNames }).labels(this.labels);
  }

  /** A gauge of one series per live process (`liveall`) or summed over them (`livesum`). */
  gauge(name: string, help: string, multiprocessMode: 'liveall' | 'livesum'): GaugeChild {
    return new Gauge({ name: this.prefix + name, help, labelNames: this.labelNames, multiprocessMode }).labels(this.labels);
  }
}

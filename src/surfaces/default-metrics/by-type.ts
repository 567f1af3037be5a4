import { Gauge } from '../../metrics/gauge.js';
import type { ModuleSettings } from './settings.js';

/**
 * Sets a gauge of counts by `type` (prom-client's updateMetrics): every
 * type counted now, and the types no longer there leave the gauge.
 * prom-client resets the gauge and sets it again; removing only the types
 * that are gone gives the same series without a moment where a scrape of
 * the files could find the others missing.
 */
class CountsByType {
  private shown = new Set<string>();

  constructor(
    private readonly gauge: Gauge,
    private readonly labels: Record<string, string | number>,
  ) {}

  update(counts: ReadonlyMap<string, number>): void {
    for (const type of this.shown) if (!counts.has(type)) this.gauge.remove({ type, ...this.labels });
    for (const [type, count] of counts) this.gauge.set({ type, ...this.labels }, count);
    this.shown = new Set(counts.keys());
  }
}

/** What is active now: the count of each type and their total. */
export interface ActiveCounts {
  total: number;
  byType: ReadonlyMap<string, number>;
}

/**
 * prom-client's pair of gauges for what is active (handles, requests,
 * resources): `<name>{type}` and `<name>_total`, read at each scrape from
 * `read` (undefined: nothing could be read, the gauges keep their values).
 * One event loop's state: `liveall`, one series per live process.
 */
export function activeCountGauges(settings: ModuleSettings, name: string, help: { byType: string; total: string }, read: () => ActiveCounts | undefined): void {
  const { registers, prefix, labels, labelNames } = settings;
  let byType: CountsByType;
  const gauge = new Gauge({
    name: prefix + name,
    help: help.byType,
    labelNames: ['type', ...labelNames],
    registers,
    multiprocessMode: 'liveall',
    collect() {
      const counts = read();
      if (counts) byType.update(counts.byType);
    },
  });
  byType = new CountsByType(gauge, labels);
  new Gauge({
    name: `${prefix}${name}_total`,
    help: help.total,
    registers,
    labelNames,
    multiprocessMode: 'liveall',
    collect() {
      const counts = read();
      if (counts) this.set(labels, counts.total);
    },
  });
}

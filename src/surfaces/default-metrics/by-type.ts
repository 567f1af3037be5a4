import type { Gauge } from '../../metrics/gauge.js';

/**
 * Sets a gauge of counts by `type` (prom-client's updateMetrics): every
 * type counted now, and the types no longer there leave the gauge.
 * prom-client resets the gauge and sets it again; removing only the types
 * that are gone gives the same series without a moment where a scrape of
 * the files could find the others missing.
 */
export class CountsByType {
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

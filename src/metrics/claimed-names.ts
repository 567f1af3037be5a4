import { ValidationError } from '../errors.js';

/** Which metric of this process exports each name (as "Counter jobs"). */
const exporters = new Map<string, string>();

/**
 * Claims the names a metric exports, all or none. Two metrics that export
 * one sample name give two series Prometheus cannot tell apart (promtool
 * rejects them, Prometheus keeps one), so, as Python's registry does with
 * duplicated timeseries, the second metric is refused and claims nothing.
 */
export function claimNames(metric: string, names: readonly string[]): void {
  for (const name of names) {
    const holder = exporters.get(name);
    if (holder !== undefined) {
      throw new ValidationError(`${metric}: the name ${name} is already exported by ${holder} in this process`);
    }
  }
  for (const name of names) exporters.set(name, metric);
}

/** Gives back the names of a metric whose construction failed after claiming them. */
export function releaseNames(names: readonly string[]): void {
  for (const name of names) exporters.delete(name);
}

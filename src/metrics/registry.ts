import { ValidationError } from '../errors.js';

/** Names of the metrics constructed in this process, so that one family is never declared twice. */
const families = new Map<string, string>();

export function claimFamily(family: string, metricName: string): void {
  const holder = families.get(family);
  if (holder !== undefined) {
    throw new ValidationError(`Metric ${metricName}: a metric with the name ${holder} has already been registered in this process`);
  }
  families.set(family, metricName);
}

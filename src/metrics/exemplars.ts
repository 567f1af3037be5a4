import { ValidationError } from '../errors.js';
import type { MetricIdentity } from './descriptor.js';
import { metricTitle } from './descriptor.js';

/**
 * prom-client's exemplars, kept in memory by the process that records them
 * (multiprocess files hold none yet: the next step stores them beside the
 * values). OpenMetrics exports them; the 0.0.4 text format cannot.
 */
export interface Exemplar {
  labelSet: Record<string, string | number>;
  value: number;
  /** Unix seconds. */
  timestamp: number;
}

/** OpenMetrics: the names and values of an exemplar's labels, together, are at most 128 characters. */
const MAX_EXEMPLAR_LABEL_CHARS = 128;

export function checkExemplarLabels(metric: MetricIdentity, labels: unknown): Record<string, string | number> {
  if (labels === null || typeof labels !== 'object') {
    throw new ValidationError(`${metricTitle(metric)}: exemplarLabels must be an object of label names and values`);
  }
  let length = 0;
  for (const [name, value] of Object.entries(labels)) length += name.length + String(value).length;
  if (length > MAX_EXEMPLAR_LABEL_CHARS) {
    throw new ValidationError(
      `${metricTitle(metric)}: Label set size must be smaller than ${MAX_EXEMPLAR_LABEL_CHARS} UTF-8 chars (the exemplar's label names and values make ${length}, OpenMetrics' limit)`,
    );
  }
  return labels as Record<string, string | number>;
}

export function newExemplar(labelSet: Record<string, string | number>, value: number): Exemplar {
  return { labelSet, value, timestamp: Date.now() / 1000 };
}

import { ValidationError } from '../errors.js';
import type { MetricIdentity } from './descriptor.js';
import { metricTitle } from './descriptor.js';
import { MAX_EXEMPLAR_LABEL_CHARS } from '../format/exemplar-record.js';
import { isLabelName } from '../format/names.js';

/**
 * prom-client's exemplars: kept by the child that records them, and with a
 * directory also written into the process's exemplar file (the latest per
 * series and bucket, format/exemplar-record.ts), from which every scrape of
 * the directory takes the latest over all processes. OpenMetrics (and
 * protobuf) export them; the 0.0.4 text format cannot.
 */
export interface Exemplar {
  labelSet: Record<string, string | number>;
  value: number;
  /** Unix seconds. */
  timestamp: number;
}


export function checkExemplarLabels(metric: MetricIdentity, labels: unknown): Record<string, string | number> {
  if (labels === null || typeof labels !== 'object') {
    throw new ValidationError(`${metricTitle(metric)}: exemplarLabels must be an object of label names and values`);
  }
  let length = 0;
  for (const [name, value] of Object.entries(labels)) {
    // Written as they are into every exposition: a name that is no label name would make it unreadable.
    if (!isLabelName(name)) throw new ValidationError(`${metricTitle(metric)}: exemplar label name ${JSON.stringify(name)} is not a valid label name`);
    length += name.length + String(value).length;
  }
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

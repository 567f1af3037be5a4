import { ValidationError } from '../errors.js';
import type { MetricIdentity } from './descriptor.js';
import { metricTitle } from './descriptor.js';
import { EXEMPLAR_LABEL_BYTES, MAX_EXEMPLAR_LABEL_CHARS, encodedLabelBytes } from '../format/exemplar-record.js';
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


/** Names already found valid: an exemplar's few names (trace_id, span_id) come back at every call. */
const validNames = new Set<string>();

function isExemplarLabelName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (!isLabelName(name)) return false;
  if (validNames.size < 1024) validNames.add(name);
  return true;
}

export function checkExemplarLabels(metric: MetricIdentity, labels: unknown): Record<string, string | number> {
  if (labels === null || typeof labels !== 'object') {
    throw new ValidationError(`${metricTitle(metric)}: exemplarLabels must be an object of label names and values`);
  }
  let length = 0;
  let count = 0;
  const given = labels as Record<string, unknown>;
  for (const name in given) {
    count++;
    // Written as they are into every exposition: a name that is no label name would make it unreadable.
    if (!isExemplarLabelName(name)) throw new ValidationError(`${metricTitle(metric)}: exemplar label name ${JSON.stringify(name)} is not a valid label name`);
    const value = given[name];
    length += name.length + (typeof value === 'string' ? value.length : String(value).length);
  }
  if (length > MAX_EXEMPLAR_LABEL_CHARS) {
    throw new ValidationError(
      `${metricTitle(metric)}: Label set size must be smaller than ${MAX_EXEMPLAR_LABEL_CHARS} UTF-8 chars (the exemplar's label names and values make ${length}, OpenMetrics' limit)`,
    );
  }
  // Exact bytes only when the characters could take more than a record holds (3 bytes each at most).
  if (length * 3 + 4 * count > EXEMPLAR_LABEL_BYTES) {
    const bytes = encodedLabelBytes(labels as Record<string, string | number>);
    if (bytes > EXEMPLAR_LABEL_BYTES) {
      throw new ValidationError(
        `${metricTitle(metric)}: the exemplar's ${count} labels take ${bytes} bytes as stored (UTF-8 and 4 bytes a label), more than the ${EXEMPLAR_LABEL_BYTES} an exemplar record holds`,
      );
    }
  }
  return labels as Record<string, string | number>;
}

export function newExemplar(labelSet: Record<string, string | number>, value: number): Exemplar {
  return { labelSet, value, timestamp: Date.now() / 1000 };
}

import { FileFormatError } from '../errors.js';
import { isLabelName, isMetricName, isWellFormed, type MetricType } from './names.js';
import { parseNativeBucketName, type NativeBucket } from './native-histogram.js';
import { parseSummaryEntryName, type SummaryEntry } from './summary-window.js';

export interface DecodedKey {
  family: string;
  sampleName: string;
  labels: Record<string, string>;
  help: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An `le` bound as Python writes it (floatToGoString): a decimal float, or ±Inf; never NaN, which no bucket order can place. */
const BOUND = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf)$/;

/**
 * Decodes and checks the entry key in bytes [start, end) of `buf`: a JSON
 * array [family, sample name, {label: value}, help] whose names follow
 * Prometheus' rules and whose text is well-formed. With `type` (the file's),
 * also that the sample name and labels are ones a file of that type holds.
 * `offset` (the entry's) is what errors report. The directory is untrusted
 * input: whatever passes here renders as valid exposition lines.
 */
export function decodeEntryKey(buf: Buffer, start: number, end: number, offset: number, type?: MetricType): DecodedKey {
  const key = decodeKeyItems(buf, start, end, offset);
  if (!isMetricName(key.sampleName)) throw new FileFormatError(`sample name ${quoted(key.sampleName)} is not a valid metric name`, offset);
  if (type !== undefined) checkSampleOfType(key, type, offset);
  return key;
}

/**
 * Decodes and checks the key of an exemplar file's entry (`.exdb`): the key
 * of the series' entry in the `.db` file of `type`, and for a histogram a
 * bucket's (with `le`), since exemplars belong to buckets.
 */
export function decodeExemplarEntryKey(buf: Buffer, start: number, end: number, offset: number, type: MetricType): DecodedKey {
  const key = decodeEntryKey(buf, start, end, offset, type);
  if (type === 'histogram' && key.labels.le === undefined) throw new FileFormatError(`exemplar of ${key.sampleName} is not a bucket's (no "le" label)`, offset);
  return key;
}

/**
 * What identifies a series across the kinds of file that hold its entries:
 * its family and labels, without a histogram bucket's `le` (a `.db` key's
 * buckets, `_sum` and `_count` are one series, as are its native buckets and
 * a summary's quantile buckets, whose keys carry no `le` or `quantile`).
 */
export function seriesIdentity(key: DecodedKey): string {
  const names = Object.keys(key.labels)
    .filter((name) => name !== 'le')
    .sort();
  return JSON.stringify([key.family, ...names.map((name) => [name, key.labels[name]])]);
}

/** A native histogram entry's key: a histogram's family and labels, and in place of a sample name the bucket it counts. */
export interface DecodedNativeKey extends DecodedKey {
  bucket: NativeBucket;
}

/**
 * Decodes and checks the key of an entry of a native histogram file
 * (`.nhdb`), as decodeEntryKey() does a metrics file's: its second item
 * names a bucket (format/native-histogram.ts), and no label is `le`.
 */
export function decodeNativeEntryKey(buf: Buffer, start: number, end: number, offset: number): DecodedNativeKey {
  const key = decodeKeyItems(buf, start, end, offset);
  const bucket = parseNativeBucketName(key.sampleName);
  if (!bucket) throw new FileFormatError(`${quoted(key.sampleName)} names no native histogram bucket (expected zero:<schema>:<threshold>, pos:<schema>:<index> or neg:<schema>:<index>)`, offset);
  if (key.labels.le !== undefined) throw new FileFormatError(`native histogram bucket of ${key.family} has an "le" label`, offset);
  return { ...key, bucket };
}

/** A summary sidecar entry's key: a summary's family and labels, and in place of a sample name the entry's name. */
export interface DecodedSummaryKey extends DecodedKey {
  entry: SummaryEntry;
}

/**
 * Decodes and checks the key of an entry of a summary's sidecar file
 * (`summary_<id>.nhdb`): its second item names a window or a bucket
 * (format/summary-window.ts), and no label is `quantile`.
 */
export function decodeSummaryEntryKey(buf: Buffer, start: number, end: number, offset: number): DecodedSummaryKey {
  const key = decodeKeyItems(buf, start, end, offset);
  const entry = parseSummaryEntryName(key.sampleName);
  if (!entry) {
    throw new FileFormatError(
      `${quoted(key.sampleName)} names no summary window or bucket (expected window:<maxAgeSeconds>:<ageBuckets>:<percentiles>, zero:<ring>, pos:<ring>:<index>, neg:<ring>:<index>, min:<ring> or max:<ring>)`,
      offset,
    );
  }
  if (key.labels.quantile !== undefined) throw new FileFormatError(`summary bucket of ${key.family} has a "quantile" label`, offset);
  return { ...key, entry };
}

/** The four items of a key, checked but for the sample name. */
function decodeKeyItems(buf: Buffer, start: number, end: number, offset: number): DecodedKey {
  // Lenient decoding first (no view object per key: this runs for every new series); a
  // replacement character then means either bad bytes or a real U+FFFD, which the strict
  // decoder tells apart. Python writes keys as ASCII, so that second step is rare.
  const text = buf.toString('utf8', start, end);
  if (text.includes('\uFFFD')) {
    try {
      utf8.decode(buf.subarray(start, end));
    } catch {
      throw new FileFormatError('key is not valid UTF-8', offset);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FileFormatError(`key is not valid JSON: ${quoted(text)}`, offset);
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) {
    throw new FileFormatError(`key is not a 4-item array (an older Python layout?): ${quoted(text)}`, offset);
  }
  const [family, sampleName, labels, help] = parsed as unknown[];
  if (typeof family !== 'string' || typeof sampleName !== 'string' || typeof help !== 'string') {
    throw new FileFormatError(`key items have the wrong types: ${quoted(text)}`, offset);
  }
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw new FileFormatError(`key labels are not an object: ${quoted(text)}`, offset);
  }
  if (!isMetricName(family)) throw new FileFormatError(`family name ${quoted(family)} is not a valid metric name`, offset);
  // A lone surrogate has no UTF-8 form (written out it becomes U+FFFD, so two different values
  // would export as one). UTF-8 decoding never makes one: only a \u escape can.
  const escapes = text.includes('\\u');
  if (escapes && !isWellFormed(help)) throw new FileFormatError(`help text of ${family} holds a lone surrogate (not well-formed UTF-16)`, offset);
  for (const name in labels) {
    const value = (labels as Record<string, unknown>)[name];
    if (!isLabelName(name)) throw new FileFormatError(`label name ${quoted(name)} of ${sampleName} is not a valid label name`, offset);
    if (typeof value !== 'string') throw new FileFormatError(`value of label ${name} of ${sampleName} is not a string: ${quoted(text)}`, offset);
    if (escapes && !isWellFormed(value)) {
      throw new FileFormatError(`value ${quoted(value)} of label ${name} of ${sampleName} holds a lone surrogate (not well-formed UTF-16)`, offset);
    }
  }
  return { family, sampleName, labels: labels as Record<string, string>, help };
}

/**
 * The sample names a file of each type holds, per family (docs/format.md: what
 * Python writes): a counter's `_total` (or the family's own name: a counter
 * declared without `_total` under prom-client's naming); a gauge's own name; a summary's
 * `_count` and `_sum` (never quantiles); a histogram's `_sum` and its
 * `_bucket`s, each with an `le` bound. In a histogram `le` belongs to the
 * buckets only: on its `_sum` the collector's grouping would misread it.
 * Other types may have an `le` label, as Python and prom-client allow.
 */
function checkSampleOfType(key: DecodedKey, type: MetricType, offset: number): void {
  const { family, sampleName, labels } = key;
  const suffix = sampleName.startsWith(family) ? sampleName.slice(family.length) : undefined;
  const allowed = SAMPLE_SUFFIXES[type];
  if (suffix === undefined || !allowed.includes(suffix)) {
    const expected = allowed.map((s) => quoted(family + s)).join(' or ');
    throw new FileFormatError(`sample name ${quoted(sampleName)} does not belong to the ${type} family ${family} (expected ${expected})`, offset);
  }
  const le = labels.le;
  if (type === 'histogram' && suffix === '_bucket') {
    if (le === undefined) throw new FileFormatError(`histogram bucket ${sampleName} has no "le" label`, offset);
    if (!BOUND.test(le)) throw new FileFormatError(`histogram bucket ${sampleName} has le=${quoted(le)}, not a number or ±Inf`, offset);
  } else if (type === 'histogram' && le !== undefined) {
    throw new FileFormatError(`histogram sample ${sampleName} has an "le" label, which only its buckets may have`, offset);
  }
  if (type === 'summary' && labels.quantile !== undefined) {
    throw new FileFormatError(`summary sample ${sampleName} has a "quantile" label (.db files hold no quantiles: they are read off the summary_<id>.nhdb buckets)`, offset);
  }
}

const SAMPLE_SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: ['_total', ''],
  gauge: [''],
  summary: ['_count', '_sum'],
  histogram: ['_sum', '_bucket'],
};

/** The start of a text from a file, for a message: in quotes, control characters and quotes escaped. */
function quoted(text: string): string {
  return JSON.stringify(text.slice(0, 80));
}

import { FileFormatError } from '../errors.js';

export interface DecodedKey {
  family: string;
  sampleName: string;
  labels: Record<string, string>;
  help: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes and checks the entry key in bytes [start, end) of `buf`: a JSON
 * array [family, sample name, {label: value}, help]. `offset` (the entry's)
 * is what errors report.
 */
export function decodeEntryKey(buf: Buffer, start: number, end: number, offset: number): DecodedKey {
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
    throw new FileFormatError(`key is not valid JSON: ${text.slice(0, 80)}`, offset);
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) {
    throw new FileFormatError(`key is not a 4-item array (an older Python layout?): ${text.slice(0, 80)}`, offset);
  }
  const [family, sampleName, labels, help] = parsed as unknown[];
  if (typeof family !== 'string' || typeof sampleName !== 'string' || typeof help !== 'string') {
    throw new FileFormatError(`key items have the wrong types: ${text.slice(0, 80)}`, offset);
  }
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw new FileFormatError(`key labels are not an object: ${text.slice(0, 80)}`, offset);
  }
  for (const name in labels) {
    if (typeof (labels as Record<string, unknown>)[name] !== 'string') throw new FileFormatError(`label value is not a string: ${text.slice(0, 80)}`, offset);
  }
  return { family, sampleName, labels: labels as Record<string, string>, help };
}

/**
 * The entry key is Python's `json.dumps([family, sample, labels, help], sort_keys=True)`.
 * JSON.stringify differs (it keeps non-ASCII, and uses no spaces), and a writer
 * that reopens its file finds its entries by exact key bytes, so we produce
 * Python's bytes here.
 */

const HEX = '0123456789abcdef';

function escapeCodeUnit(c: number): string {
  switch (c) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    default:
      return '\\u' + HEX[(c >> 12) & 15] + HEX[(c >> 8) & 15] + HEX[(c >> 4) & 15] + HEX[c & 15];
  }
}

/** A JSON string literal exactly as Python's json.dumps with ensure_ascii=True writes it. */
export function pythonJsonString(text: string): string {
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += text.slice(runStart, i) + escapeCodeUnit(c);
    runStart = i + 1;
  }
  return out + text.slice(runStart) + '"';
}

/**
 * The key of one entry. `labelNames` must already be sorted by code point
 * (label names are ASCII, so the default sort is code-point order).
 */
export function encodeEntryKey(
  family: string,
  sampleName: string,
  sortedLabelNames: readonly string[],
  labelValues: readonly string[],
  help: string,
): string {
  let labels = '{';
  for (let i = 0; i < sortedLabelNames.length; i++) {
    if (i > 0) labels += ', ';
    labels += pythonJsonString(sortedLabelNames[i]) + ': ' + pythonJsonString(labelValues[i]);
  }
  labels += '}';
  return `[${pythonJsonString(family)}, ${pythonJsonString(sampleName)}, ${labels}, ${pythonJsonString(help)}]`;
}

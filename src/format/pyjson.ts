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
function pythonJsonString(text: string): string {
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
 * The key text of every entry of one sample name with one set of label
 * names: the constant parts are encoded once, so a key costs one JSON
 * string per label value. Label names are sorted by code point (they are
 * ASCII, so the default sort is code-point order), as sort_keys does.
 */
export class EntryKeyTemplate {
  private readonly familyPart: string;
  private readonly head: string;
  private readonly tail: string;
  /** `"name": ` of each label in key order. */
  private readonly names: string[];
  /** For each label in key order: its index in the caller's values, or -1 for the fixed extra label. */
  private readonly sources: number[];
  private readonly extraValue: string;

  constructor(family: string, sampleName: string, labelNames: readonly string[], help: string, extraLabel?: readonly [string, string]) {
    const all = labelNames.map((name, i) => ({ name, source: i }));
    if (extraLabel) all.push({ name: extraLabel[0], source: -1 });
    all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.familyPart = `[${pythonJsonString(family)}, `;
    this.head = `${this.familyPart}${pythonJsonString(sampleName)}, {`;
    this.tail = `}, ${pythonJsonString(help)}]`;
    this.names = all.map((l) => `${pythonJsonString(l.name)}: `);
    this.sources = all.map((l) => l.source);
    this.extraValue = extraLabel ? pythonJsonString(extraLabel[1]) : '';
  }

  /**
   * The key for `labelValues`, given in the order of the label names passed
   * to the constructor; an undefined value leaves its label out. `sampleName`
   * replaces the constructor's (a native histogram bucket's name).
   */
  key(labelValues: readonly (string | undefined)[], sampleName?: string): string {
    let out = sampleName === undefined ? this.head : `${this.familyPart}${pythonJsonString(sampleName)}, {`;
    let first = true;
    for (let i = 0; i < this.names.length; i++) {
      const source = this.sources[i];
      const value = source < 0 ? undefined : labelValues[source];
      if (source >= 0 && value === undefined) continue;
      if (!first) out += ', ';
      first = false;
      out += this.names[i] + (source < 0 ? this.extraValue : pythonJsonString(value!));
    }
    return out + this.tail;
  }
}

/**
 * A strict parser of the expositions the collector writes, in the text
 * format 0.0.4 and in OpenMetrics 1.0: stricter than Prometheus' parsers
 * where we know what we write (no comments, no timestamps, HELP then TYPE
 * before a family's samples), exactly as strict where the formats are (names,
 * escapes, floats), and it also checks what the collector promises beyond
 * the syntax: no family twice, no two families sharing a name, no series
 * twice, every sample named as its family's type allows.
 */

export type Format = 'prometheus' | 'openmetrics';

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  /** The value as written. */
  value: string;
  /** OpenMetrics: the exemplar after the value, as written. */
  exemplar?: { labels: Record<string, string>; value: string; timestamp?: string };
}

export interface ParsedFamily {
  /** The name on the HELP and TYPE lines. */
  name: string;
  type: string;
  /** The help text, unescaped. */
  help: string;
  samples: ParsedSample[];
}

export class ExpositionError extends Error {
  constructor(
    readonly lineNumber: number,
    readonly line: string,
    readonly reason: string,
  ) {
    super(`line ${lineNumber}: ${reason}: ${JSON.stringify(line.slice(0, 200))}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^(?:NaN|[+-]Inf|[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary']);
const LONE_SURROGATE = /\p{Cs}/u;

/** The escapes each format allows, by the character after the backslash. */
const LABEL_ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n' };
const HELP_ESCAPES: Record<Format, Record<string, string>> = {
  prometheus: { '\\': '\\', n: '\n' },
  openmetrics: { '\\': '\\', '"': '"', n: '\n' },
};

/** Parses `text`; throws ExpositionError at the first line that breaks a rule. */
export function parseExposition(text: string, format: Format): ParsedFamily[] {
  if (LONE_SURROGATE.test(text)) throw new ExpositionError(0, '', 'the text is not well-formed UTF-16 (it has no UTF-8 form)');
  if (text !== '' && !text.endsWith('\n')) throw new ExpositionError(0, text.slice(-80), 'the text does not end with a newline');
  const lines = text.split('\n');
  lines.pop();
  if (format === 'openmetrics') {
    if (lines[lines.length - 1] !== '# EOF') throw new ExpositionError(lines.length, lines[lines.length - 1] ?? '', 'OpenMetrics ends with # EOF');
    lines.pop();
  }
  const families: ParsedFamily[] = [];
  const headerNames = new Set<string>();
  const series = new Set<string>();
  let family: ParsedFamily | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fail = (reason: string): never => {
      throw new ExpositionError(i + 1, line, reason);
    };
    if (line.startsWith('# HELP ')) {
      const rest = line.slice('# HELP '.length);
      const name = METRIC_NAME.exec(rest)?.[0];
      if (!name) fail('HELP without a valid metric name');
      const after = rest.slice(name!.length);
      if (after !== '' && !after.startsWith(' ')) fail('HELP name not followed by a space');
      if (headerNames.has(name!)) fail(`a second family ${name}`);
      headerNames.add(name!);
      // OpenMetrics' escaped-string has no bare quote; 0.0.4's HELP text may hold one.
      const help = unescape(after.slice(1), HELP_ESCAPES[format], format === 'openmetrics' ? '"' : undefined, fail);
      const typeLine = lines[i + 1] ?? '';
      const typeMatch = /^# TYPE (\S+) (\S+)$/.exec(typeLine);
      if (!typeMatch || typeMatch[1] !== name) throw new ExpositionError(i + 2, typeLine, `HELP ${name} not followed by its TYPE line`);
      if (!TYPES.has(typeMatch[2])) throw new ExpositionError(i + 2, typeLine, `unknown type ${typeMatch[2]}`);
      family = { name: name!, type: typeMatch[2], help, samples: [] };
      families.push(family);
      i++;
      continue;
    }
    if (line.startsWith('#')) fail('a comment line other than HELP followed by TYPE');
    if (!family) fail('a sample before any HELP and TYPE');
    const sample = parseSample(line, fail, format);
    checkSampleOfFamily(sample, family!, format, fail);
    // OpenMetrics allows exemplars on counter samples and histogram buckets only.
    if (sample.exemplar && !(family!.type === 'counter' || sample.name === `${family!.name}_bucket`)) fail(`an exemplar on ${sample.name}`);
    const id = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
    if (series.has(id)) fail('a series exported twice');
    series.add(id);
    family!.samples.push(sample);
  }
  checkNamesDisjoint(families);
  return families;
}

function parseSample(line: string, fail: (reason: string) => never, format: Format = 'prometheus'): ParsedSample {
  const name = METRIC_NAME.exec(line)?.[0];
  if (!name) fail('a sample line without a valid metric name');
  const { labels, end: at } = parseLabels(line, name!.length, fail);
  if (line[at] !== ' ') fail('no single space between series and value');
  let value = line.slice(at + 1);
  const marker = value.indexOf(' # ');
  if (marker < 0 || format !== 'openmetrics') {
    if (!FLOAT.test(value)) fail(`value ${JSON.stringify(value)} is not a float`);
    return { name: name!, labels, value };
  }
  // OpenMetrics: ` # {labels} value [timestamp]` after the value.
  const exemplarText = value.slice(marker + 3);
  value = value.slice(0, marker);
  if (!FLOAT.test(value)) fail(`value ${JSON.stringify(value)} is not a float`);
  if (exemplarText[0] !== '{') fail('an exemplar without its labels');
  const parsed = exemplarText === '{}' || exemplarText.startsWith('{} ') ? { labels: {}, end: 2 } : parseLabels(exemplarText, 0, fail);
  const chars = Object.entries(parsed.labels).reduce((n, [k, v]) => n + [...k].length + [...v].length, 0);
  if (chars > 128) fail(`exemplar labels of ${chars} characters, more than OpenMetrics' 128`);
  const [exemplarValue, timestamp, ...more] = exemplarText.slice(parsed.end + 1).split(' ');
  if (exemplarText[parsed.end] !== ' ' || !FLOAT.test(exemplarValue ?? '') || (timestamp !== undefined && !FLOAT.test(timestamp)) || more.length > 0) {
    fail(`exemplar ${JSON.stringify(exemplarText)} is not {labels} value [timestamp]`);
  }
  return { name: name!, labels, value, exemplar: { labels: parsed.labels, value: exemplarValue, ...(timestamp === undefined ? {} : { timestamp }) } };
}

/** The labels `{...}` at `at` of `line` (none when there is no brace), and where they end. */
function parseLabels(line: string, at: number, fail: (reason: string) => never): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    for (;;) {
      const labelName = LABEL_NAME.exec(line.slice(at))?.[0];
      if (!labelName) fail(`no valid label name at column ${at + 1}`);
      if (labelName!.startsWith('__')) fail(`label name ${labelName} is reserved`);
      if (Object.prototype.hasOwnProperty.call(labels, labelName!)) fail(`label ${labelName} given twice`);
      at += labelName!.length;
      if (line.slice(at, at + 2) !== '="') fail(`label ${labelName} not followed by ="`);
      at += 2;
      let end = at;
      while (end < line.length && line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      if (end >= line.length) fail(`value of label ${labelName} not closed`);
      labels[labelName!] = unescape(line.slice(at, end), LABEL_ESCAPES, '"', fail);
      at = end + 1;
      if (line[at] === ',') {
        at++;
        continue;
      }
      if (line[at] !== '}') fail(`label ${labelName} not followed by , or }`);
      at++;
      break;
    }
  }
  return { labels, end: at };
}

/** `text` with its escapes resolved; any other backslash, or an unescaped `quote`, fails. */
function unescape(text: string, escapes: Record<string, string>, quote: string | undefined, fail: (reason: string) => never): string {
  if (text.indexOf('\\') === -1 && (quote === undefined || text.indexOf(quote) === -1)) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === quote) fail('an unescaped quote');
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined || !(next in escapes)) fail(`an invalid escape \\${next ?? ''}`);
    out += escapes[next];
    i++;
  }
  return out;
}

/** The sample names a family of each type may have, from its HELP/TYPE name, and the label each requires or forbids. */
function checkSampleOfFamily(sample: ParsedSample, family: ParsedFamily, format: Format, fail: (reason: string) => never): void {
  const { name, labels } = sample;
  const base = family.name;
  const has = (label: string): boolean => Object.prototype.hasOwnProperty.call(labels, label);
  switch (family.type) {
    case 'counter':
      // 0.0.4 names a counter family by its sample; OpenMetrics by the name without _total.
      if (name !== (format === 'prometheus' ? base : `${base}_total`)) fail(`sample ${name} in counter family ${base}`);
      break;
    case 'gauge':
      if (name !== base) fail(`sample ${name} in gauge family ${base}`);
      break;
    case 'histogram':
      if (name === `${base}_bucket`) {
        if (!has('le') || !FLOAT.test(labels.le) || labels.le === 'NaN') fail(`bucket of ${base} without a float le`);
      } else if (name === `${base}_sum` || name === `${base}_count`) {
        if (has('le')) fail(`${name} with an le label`);
      } else fail(`sample ${name} in histogram family ${base}`);
      break;
    case 'summary':
      if (name === base) {
        if (!has('quantile') || !FLOAT.test(labels.quantile)) fail(`quantile of ${base} without a float quantile label`);
      } else if (name === `${base}_sum` || name === `${base}_count`) {
        if (has('quantile')) fail(`${name} with a quantile label`);
      } else fail(`sample ${name} in summary family ${base}`);
      break;
    default:
      fail(`unknown type ${family.type}`);
  }
}

/** No name (on a HELP/TYPE line or of a sample) belongs to two families: a parser would mix them up. */
function checkNamesDisjoint(families: readonly ParsedFamily[]): void {
  const owner = new Map<string, string>();
  for (const family of families) {
    for (const name of new Set([family.name, ...family.samples.map((s) => s.name)])) {
      const other = owner.get(name);
      if (other !== undefined && other !== family.name) throw new ExpositionError(0, name, `name ${name} is used by the families ${other} and ${family.name}`);
      owner.set(name, family.name);
    }
  }
}

/** A sample as one string, `name{a="1",b="2"}`, with labels sorted: to compare expositions sample by sample. */
export function seriesId(sample: ParsedSample): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(sample.labels[k])}`);
  return `${sample.name}{${labels.join(',')}}`;
}

// Checks shared by the concurrency tests and their cluster primary: a strict
// parser of the text exposition, the invariants every scrape must keep while
// writers count, and the byte rules of docs/format.md for a finished file.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import type { MultiprocessRegistry } from '../../src/index.js';
import { readEntryFile, type FileEntry } from './read-entries.js';
import { HEADER_SIZE, INITIAL_FILE_SIZE, walkEntries } from '../../src/format/layout.js';
import { paddingFor, pythonKey } from './db-files.js';

export const SKIPPED_FILES_SAMPLE = 'prom_multiproc_skipped_files_total';

/** One name for a series, whatever order its labels come in. */
export function seriesKey(name: string, labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  return `${name}{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(',')}}`;
}

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedExposition {
  /** Family name (as on the TYPE line) to its type. */
  types: Map<string, string>;
  samples: ParsedSample[];
  /** Series key to sample, and to the type of its family. */
  byKey: Map<string, { value: number; type: string }>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
// Python's client writes `5.0`, `1e-05`; prom-client (and our merged view under its naming) `5`, `1e-7`, `Nan`.
const VALUE = /^(?:[+-]Inf|NaN|Nan|-?\d+(?:\.\d+)?(?:e[+-]\d+)?)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let pos = 0;
  while (pos < text.length) {
    const name = LABEL_NAME.exec(text.slice(pos))?.[0];
    if (!name) throw new Error(`${where}: bad label name at column ${pos} of {${text}}`);
    pos += name.length;
    if (text.slice(pos, pos + 2) !== '="') throw new Error(`${where}: expected =" after label ${name}`);
    pos += 2;
    let value = '';
    for (;;) {
      const c = text[pos++];
      if (c === undefined) throw new Error(`${where}: unterminated value of label ${name}`);
      if (c === '"') break;
      if (c === '\\') {
        const escaped = text[pos++];
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else throw new Error(`${where}: bad escape \\${String(escaped)} in label ${name}`);
      } else if (c === '\n') {
        throw new Error(`${where}: raw newline in label ${name}`);
      } else {
        value += c;
      }
    }
    if (name in labels) throw new Error(`${where}: label ${name} given twice`);
    labels[name] = value;
    if (pos < text.length) {
      if (text[pos] !== ',') throw new Error(`${where}: expected , after label ${name}`);
      pos++;
    }
  }
  return labels;
}

function parseValue(text: string, where: string): number {
  if (!VALUE.test(text)) throw new Error(`${where}: malformed value ${JSON.stringify(text)}`);
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** Whether a sample name belongs to a family of this type (family named as in the files). */
function belongsTo(sample: string, type: string, family: string): boolean {
  if (!sample.startsWith(family)) return false;
  const suffix = sample.slice(family.length);
  if (type === 'counter') return suffix === '_total';
  if (type === 'histogram') return suffix === '_bucket' || suffix === '_sum' || suffix === '_count';
  // A summary's quantiles are samples named by the family (with a quantile label, checked by the caller).
  if (type === 'summary') return suffix === '_sum' || suffix === '_count' || suffix === '';
  return suffix === '';
}

/** Parses the Prometheus 0.0.4 text format strictly; throws naming the line at fault. */
export function parseExposition(text: string): ParsedExposition {
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const types = new Map<string, string>();
  const samples: ParsedSample[] = [];
  const byKey = new Map<string, { value: number; type: string }>();
  let currentFamily: string | undefined;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line.slice(0, 120))})`;
    // prom-client's text format puts a blank line between families.
    if (line === '') return;
    if (line.startsWith('# HELP ')) {
      const name = line.slice(7).split(' ')[0];
      if (!NAME.test(name)) throw new Error(`${where}: bad HELP name`);
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, ...rest] = line.slice(7).split(' ');
      if (!NAME.test(name) || !TYPES.has(type) || rest.length > 0) throw new Error(`${where}: bad TYPE line`);
      if (types.has(name)) throw new Error(`${where}: family ${name} typed twice`);
      types.set(name, type);
      currentFamily = name;
      return;
    }
    if (line.startsWith('#')) throw new Error(`${where}: unknown comment`);
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`${where}: malformed sample line`);
    const [, name, labelText, valueText] = match;
    if (currentFamily === undefined) throw new Error(`${where}: sample before any TYPE line`);
    // The 0.0.4 format names a counter family by its sample: `x_total`, or `x` for one declared so (prom-client's naming).
    const type = types.get(currentFamily)!;
    const family = type === 'counter' ? currentFamily.replace(/_total$/, '') : currentFamily;
    const bareCounter = type === 'counter' && name === currentFamily && !currentFamily.endsWith('_total');
    if (!bareCounter && !belongsTo(name, type, family)) throw new Error(`${where}: sample ${name} outside its family ${currentFamily}`);
    const labels = labelText === undefined ? {} : parseLabels(labelText, where);
    if (type === 'summary' && name === family && labels.quantile === undefined) throw new Error(`${where}: summary sample ${name} without a quantile label`);
    const value = parseValue(valueText, where);
    const key = seriesKey(name, labels);
    if (byKey.has(key)) throw new Error(`${where}: series ${key} appears twice`);
    samples.push({ name, labels, value });
    byKey.set(key, { value, type });
  });
  return { types, samples, byKey };
}

/** Samples that can only grow while writers count and nobody resets or marks dead. */
function isMonotonic(name: string, type: string): boolean {
  if (type === 'counter') return true;
  if (type === 'histogram' || type === 'summary') return /_(bucket|count|sum)$/.test(name);
  return false;
}

/**
 * Keeps the invariants across the scrapes of one directory: every scrape
 * parses, no file is skipped, and no counter, bucket, count or sum (nor any
 * series in `alsoMonotonic`) goes down or disappears.
 */
export class ScrapeChecker {
  scrapes = 0;
  private previous = new Map<string, number>();

  constructor(
    private readonly alsoMonotonic: ReadonlySet<string> = new Set(),
    /** The registry's logged warnings, quoted when a scrape skipped a file. */
    private readonly warnings: readonly string[] = [],
  ) {}

  check(text: string): ParsedExposition {
    const scrape = ++this.scrapes;
    let parsed: ParsedExposition;
    try {
      parsed = parseExposition(text);
    } catch (err) {
      throw new Error(`scrape ${scrape} does not parse: ${(err as Error).message}`);
    }
    const skipped = parsed.byKey.get(seriesKey(SKIPPED_FILES_SAMPLE, {}));
    if (skipped?.value !== 0) {
      throw new Error(`scrape ${scrape}: ${SKIPPED_FILES_SAMPLE} is ${String(skipped?.value)}, expected 0; warnings: ${this.warnings.join(' | ')}`);
    }
    const current = new Map<string, number>();
    for (const [key, { value, type }] of parsed.byKey) {
      if (key.startsWith(SKIPPED_FILES_SAMPLE)) continue;
      if (isMonotonic(key.slice(0, key.indexOf('{')), type) || this.alsoMonotonic.has(key)) current.set(key, value);
    }
    for (const [key, before] of this.previous) {
      const now = current.get(key);
      if (now === undefined) throw new Error(`scrape ${scrape}: series ${key} (${before} in the scrape before) disappeared`);
      if (now < before) throw new Error(`scrape ${scrape}: series ${key} went down from ${before} to ${now}`);
    }
    this.previous = current;
    return parsed;
  }
}

/**
 * Scrapes one after the other until stopped, checking each. `nextScrape()`
 * resolves once a scrape that began after the call has passed its checks.
 */
export class ScrapeLoop {
  private started = 0;
  private stopped = false;
  private waiters: Array<{ after: number; resolve: () => void }> = [];

  constructor(
    private readonly registry: MultiprocessRegistry,
    readonly checker: ScrapeChecker,
    private readonly onScrape?: (parsed: ParsedExposition) => void,
  ) {}

  async run(): Promise<void> {
    while (!this.stopped) {
      const number = ++this.started;
      const parsed = this.checker.check(await this.registry.metrics());
      this.onScrape?.(parsed);
      this.waiters = this.waiters.filter((w) => {
        if (w.after >= number) return true;
        w.resolve();
        return false;
      });
      // A short rest leaves the writers some CPU (an empty directory scrapes in microseconds).
      await sleep(1);
    }
  }

  nextScrape(): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ after: this.started, resolve }));
  }

  stop(): void {
    this.stopped = true;
  }
}

/**
 * Checks one finished file against docs/format.md beyond what readEntryFile
 * checks: the size is 64 KiB doubled, the header's spare bytes and everything
 * past `used` are zero, entries are 8-byte aligned with docs/format.md's 1..8
 * spaces of padding, keys are byte for byte Python's json.dumps, and no timestamp is
 * set (no mostrecent gauge here). Returns the entries.
 */
export function checkFileBytes(file: string): FileEntry[] {
  const entries = readEntryFile(file);
  const buf = fs.readFileSync(file);
  const size = buf.length;
  let doubled = INITIAL_FILE_SIZE;
  while (doubled < size) doubled *= 2;
  assert.equal(size, doubled, `${file}: size ${size} is not 64 KiB doubled`);
  assert.equal(buf.readInt32LE(4), 0, `${file}: header bytes 4..7 are not zero`);
  const used = buf.readInt32LE(0);
  assert.ok(used >= HEADER_SIZE && used <= size, `${file}: used ${used} outside 8..${size}`);
  const tail = buf.subarray(used);
  assert.ok(tail.every((byte) => byte === 0), `${file}: bytes past used (${used}) are not all zero`);
  let index = 0;
  walkEntries(buf, used, (raw) => {
    const entry = entries[index++];
    assert.equal(raw.offset % 8, 0, `${file}: entry at ${raw.offset} is not 8-byte aligned`);
    const padding = raw.valueOffset - raw.keyEnd;
    assert.equal(padding, paddingFor(raw.keyEnd - raw.keyStart), `${file}: entry at ${raw.offset} has ${padding} bytes of padding`);
    const expectedKey = pythonKey(entry.family, entry.sampleName, entry.labels, entry.help);
    assert.equal(buf.toString('utf8', raw.keyStart, raw.keyEnd), expectedKey, `${file}: key at ${raw.offset} is not Python's json.dumps text`);
    assert.equal(entry.timestamp, 0, `${file}: entry ${expectedKey} has timestamp ${entry.timestamp}`);
  });
  assert.equal(index, entries.length, `${file}: walked ${index} entries, readEntryFile found ${entries.length}`);
  return entries;
}

/** Resolves with how a child process ended. */
export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Kills a child that is still running (a test that failed midway must leave none behind). */
export function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

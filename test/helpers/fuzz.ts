/**
 * Fuzzing of the collector, shared by test/fuzz.test.ts (a few thousand
 * mutants in npm test) and bench/fuzz.ts (for as long as one likes): mutants
 * of real .db files (the Python fixtures and files made here), each scraped
 * beside known good files. Every scrape must succeed, export the good files'
 * samples exactly, and pass the strict parser of exposition-parser.ts; some
 * also go through promtool. A mutant is made from its own seed alone, so a
 * failure reproduces from that seed. test/sidecar-fuzz.test.ts mutates
 * `.nhdb` files with the layout's mutators (LAYOUT_MUTATORS) and its own.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MultiprocessRegistry, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, SKIPPED_FILES_FAMILY } from '../../src/index.js';
import { currentLayoutFile, pythonKey, type RawEntry } from './db-files.js';
import { parseExposition, type Format, type ParsedFamily } from './exposition-parser.js';
import { FIXTURES } from './fixtures.js';
import { assertOpenMetricsParses, assertPromtoolParses } from './promtool.js';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform unsigned 32-bit integer. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 2 ** 32) * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }
}

/** The seed of mutant `index` of a run seeded `seed`. */
export function mutantSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

/** A real file to mutate; `prefix` is its name's part before the id (counter, gauge_all, ...). */
export interface SeedFile {
  name: string;
  prefix: string;
  bytes: Buffer;
}

const PREFIXES = ['counter', 'histogram', 'summary', 'gauge_all', 'gauge_liveall', 'gauge_min', 'gauge_max', 'gauge_sum', 'gauge_livesum', 'gauge_mostrecent'];

function prefixOf(fileName: string): string {
  return fileName.slice(0, fileName.lastIndexOf('_'));
}

/** Keys as JSON.stringify writes them: the collector reads any JSON, and this one can hold anything. */
function jsonKey(family: string, sampleName: string, labels: Record<string, string>, help: string): string {
  const sorted = Object.fromEntries(Object.keys(labels).sort().map((k) => [k, labels[k]]));
  return JSON.stringify([family, sampleName, sorted, help]);
}

/** Files of every type with what Python's fixtures lack: odd label values and help, bounds in exponent form, timestamps, a user `pid`. */
function madeFiles(): SeedFile[] {
  const histogram: RawEntry[] = [];
  for (const svc of ['a', 'b']) {
    histogram.push({ key: jsonKey('fuzz_rpc_seconds', 'fuzz_rpc_seconds_sum', { svc }, 'RPC time.'), value: 3.25 });
    for (const le of ['0.005', '0.1', '1.0', '1e+06', '+Inf']) histogram.push({ key: jsonKey('fuzz_rpc_seconds', 'fuzz_rpc_seconds_bucket', { le, svc }, 'RPC time.'), value: 1 });
  }
  const odd = ['quote"', 'back\\slash', 'new\nline', 'cr\rreturn', 'tab\t', 'nul\u0000', 'sep\u0001\u0002', 'astral \u{1f680}', 'caf\u00e9', '\ufffd', ''];
  return [
    { name: 'made/histogram_h1.db', prefix: 'histogram', bytes: currentLayoutFile(histogram) },
    {
      name: 'made/summary_s1.db',
      prefix: 'summary',
      bytes: currentLayoutFile(
        ['x', 'y'].flatMap((kind) => [
          { key: jsonKey('fuzz_batch_bytes', 'fuzz_batch_bytes_count', { kind }, 'Batch size.'), value: 2 },
          { key: jsonKey('fuzz_batch_bytes', 'fuzz_batch_bytes_sum', { kind }, 'Batch size.'), value: 2048 },
        ]),
      ),
    },
    {
      name: 'made/gauge_mostrecent_g1.db',
      prefix: 'gauge_mostrecent',
      bytes: currentLayoutFile([
        { key: jsonKey('fuzz_last_run', 'fuzz_last_run', { job: 'a' }, 'Last run.'), value: 5, timestamp: 1700000001 },
        { key: jsonKey('fuzz_last_run', 'fuzz_last_run', { job: 'b' }, 'Last run.'), value: 6, timestamp: 0 },
      ]),
    },
    {
      name: 'made/counter_c1.db',
      prefix: 'counter',
      bytes: currentLayoutFile(odd.map((v, i) => ({ key: jsonKey('fuzz_odd', 'fuzz_odd_total', { v }, 'Odd "help" \\ with\nnewline and \r.'), value: i + 0.5 }))),
    },
    {
      name: 'made/gauge_all_g2.db',
      prefix: 'gauge_all',
      bytes: currentLayoutFile([
        { key: jsonKey('fuzz_workers', 'fuzz_workers', { pid: 'user', zone: 'z1' }, 'Workers.'), value: 1 },
        { key: jsonKey('fuzz_workers', 'fuzz_workers', { zone: 'z2' }, 'Workers.'), value: 2 },
      ]),
    },
    {
      name: 'made/gauge_max_g3.db',
      prefix: 'gauge_max',
      bytes: currentLayoutFile([{ key: pythonKey('fuzz_peak', 'fuzz_peak', { zone: 'z1' }, 'Peak.'), value: -1.5e300 }]),
    },
  ];
}

/** Every Python fixture file and the made ones. */
export function seedFiles(): SeedFile[] {
  const files: SeedFile[] = [];
  for (const fixture of fs.readdirSync(FIXTURES).sort()) {
    const db = path.join(FIXTURES, fixture, 'db');
    for (const name of fs.readdirSync(db).sort()) files.push({ name: `${fixture}/${name}`, prefix: prefixOf(name), bytes: fs.readFileSync(path.join(db, name)) });
  }
  return [...files, ...madeFiles()];
}

/** One mutant: its bytes, the prefix of the name it is written under, what was done to it, and the unchanged file scraped beside it. */
export interface Mutant {
  prefix: string;
  bytes: Buffer;
  steps: string[];
  neighbour: SeedFile;
}

/** A mutant with what else its seed decides: the id of its file name (a few, so that a long-lived registry sees files replaced), the format of its fresh scrape. */
export interface SeededMutant extends Mutant {
  source: string;
  id: string;
  format: Format;
}

export interface WalkedEntry {
  offset: number;
  keyStart: number;
  keyEnd: number;
  valueOffset: number;
}

function usedOf(bytes: Buffer): number {
  return bytes.length >= 4 ? bytes.readInt32LE(0) : 0;
}

/** The entries up to the first that does not fit (a mutant's may be anything). */
export function walk(bytes: Buffer): WalkedEntry[] {
  const used = Math.min(usedOf(bytes), bytes.length);
  const entries: WalkedEntry[] = [];
  for (let pos = 8; pos + 4 <= used; ) {
    const length = bytes.readInt32LE(pos);
    if (length <= 0) break;
    const valueOffset = pos + 4 + length + (8 - ((length + 4) % 8));
    if (valueOffset + 16 > used) break;
    entries.push({ offset: pos, keyStart: pos + 4, keyEnd: pos + 4 + length, valueOffset });
    pos = valueOffset + 16;
  }
  return entries;
}

export interface DecodedEntry {
  key: Buffer;
  parsed: [string, string, Record<string, string>, string] | undefined;
  value: number;
  timestamp: number;
}

/** Every entry that walk() finds, its key parsed when it is a 4-item JSON array. */
export function decodeAll(bytes: Buffer): DecodedEntry[] {
  return walk(bytes).map((e) => {
    const key = Buffer.from(bytes.subarray(e.keyStart, e.keyEnd));
    let parsed: DecodedEntry['parsed'];
    try {
      const json = JSON.parse(key.toString('utf8')) as unknown;
      if (Array.isArray(json) && json.length === 4 && typeof json[0] === 'string' && typeof json[1] === 'string' && json[2] && typeof json[2] === 'object') {
        parsed = json as DecodedEntry['parsed'];
      }
    } catch {
      parsed = undefined;
    }
    return { key, parsed, value: bytes.readDoubleLE(e.valueOffset), timestamp: bytes.readDoubleLE(e.valueOffset + 8) };
  });
}

/** A file of `entries` in the current layout, `used` right. */
export function rebuild(entries: readonly DecodedEntry[]): Buffer {
  return currentLayoutFile(entries.map((e) => ({ key: e.key, value: e.value, timestamp: e.timestamp })));
}

const INTERESTING_BYTES = [
  0x20, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x2d, 0x2e, 0x30, 0x39, 0x5f, 0x41, 0x75, 0x00, 0x01, 0x0a, 0x0d, 0x09, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xff,
];
const ESCAPES = ['\\ud800', '\\udfff', '\\udbff', '\\ude80', '\\u0000', '\\u0001', '\\u0002', '\\u000a', '\\u000d', '\\u007f', '\\u00e9', '\\u2028', '\\ufffd', '\\"', '\\\\', '\\n', '\\r', '\\t', '\\/'];
export const SPECIAL_DOUBLES = [NaN, Infinity, -Infinity, -0, 1e308, -1e308, 5e-324, -1, 2 ** 53 + 2, 1e6, 1234567.5, 0.1, 1e-7, 1e16, -1e16, 123456789012];
/** Suffixes that turn a family's name into one of the names another type's family exposes. */
const CLASHING_SUFFIXES = ['_total', '_sum', '_count', '_bucket', '_created'];
const NAME_CHANGES: Array<(name: string) => string> = [
  (n) => `${n} x`,
  (n) => `${n}-x`,
  (n) => `9${n}`,
  () => '',
  (n) => `${n}:sub`,
  (n) => `${n}\u00e9`,
  (n) => `${n}\ud800`,
  (n) => `${n}\n`,
  ...CLASHING_SUFFIXES.map((suffix) => (n: string) => n + suffix),
  (n) => n.replace(/_(total|sum|count|bucket)$/, ''),
  () => 'prom_multiproc_skipped_files',
  () => 'prom_multiproc_skipped_files_total',
];
const SAMPLE_SUFFIXES = ['', '_total', '_sum', '_count', '_bucket', '_created', '_info', ' x', '{a="b"}'];
const LABEL_VALUES = ['1.0', '+Inf', '-Inf', 'NaN', 'abc', '', ' 1', '1e3', '0x10', 'x\u0001y\u0000z', 'x\u0002', 'q"\\\n\r\t', '\ud800', 'a\udc00', '\u{1f680}', 'x'.repeat(300)];
const LABEL_NAMES = ['le', 'quantile', 'pid', '__name__', 'a-b', '0a', '', 'a b', 'ok_name', '\u00e9'];
const HELP_TEXTS = ['', 'a\nb', 'back\\slash', 'q"uote', 'cr\rlf', 'nul\u0000', '\ud800', 'tab\there', '\\n literal', 'x'.repeat(500)];

/** A sample name suffix each type's files hold (histograms' _sum, which needs no le). */
const VALID_SUFFIX: Record<string, string> = { counter: '_total', gauge: '', histogram: '_sum', summary: '_count' };

/** Changes `mutant` and says how, or returns undefined when it cannot apply to it. */
export type Mutator = (rng: Prng, mutant: Mutant, pool: readonly SeedFile[]) => string | undefined;

const bitFlips: Mutator = (rng, m) => {
  const end = Math.max(1, Math.min(Math.max(usedOf(m.bytes), 8), m.bytes.length));
  if (m.bytes.length === 0) return undefined;
  const flips = 1 + rng.below(8);
  const at: number[] = [];
  for (let i = 0; i < flips; i++) {
    const pos = rng.below(end);
    m.bytes[pos] ^= 1 << rng.below(8);
    at.push(pos);
  }
  return `flip bits at ${at.join(',')}`;
};

const truncate: Mutator = (rng, m) => {
  const entries = walk(m.bytes);
  const length = entries.length > 0 && rng.chance(0.5) ? rng.pick(entries).offset + rng.below(24) : rng.below(Math.min(m.bytes.length, usedOf(m.bytes) + 64) + 1);
  m.bytes = Buffer.from(m.bytes.subarray(0, Math.min(length, m.bytes.length)));
  const fixUsed = m.bytes.length >= 4 && rng.chance(0.5);
  if (fixUsed) m.bytes.writeInt32LE(m.bytes.length, 0);
  return `truncate to ${m.bytes.length}${fixUsed ? ', used set to match' : ''}`;
};

const splice: Mutator = (rng, m, pool) => {
  const other = rng.pick(pool);
  const here = walk(m.bytes);
  const there = walk(other.bytes);
  const cut = here.length > 0 && rng.chance(0.7) ? rng.pick(here).offset : Math.min(m.bytes.length, 8 + rng.below(Math.max(1, usedOf(m.bytes))));
  const otherUsed = Math.min(Math.max(usedOf(other.bytes), 8), other.bytes.length);
  const from = there.length > 0 && rng.chance(0.7) ? rng.pick(there).offset : rng.below(otherUsed);
  const tail = other.bytes.subarray(from, otherUsed);
  const joined = Buffer.alloc(Math.max(65536, cut + tail.length));
  m.bytes.copy(joined, 0, 0, cut);
  tail.copy(joined, cut);
  const fixUsed = rng.chance(0.7) && joined.length >= 4;
  if (fixUsed) joined.writeInt32LE(cut + tail.length, 0);
  m.bytes = joined;
  return `splice [0,${cut}) with ${other.name} [${from},${otherUsed})${fixUsed ? ', used set to match' : ''}`;
};

const keyLength: Mutator = (rng, m) => {
  const entries = walk(m.bytes);
  if (entries.length === 0) return undefined;
  const e = rng.pick(entries);
  const length = e.keyEnd - e.keyStart;
  const other = rng.pick(entries);
  const value = rng.pick([length + 1, length - 1, length + 4, length - 4, length + 8, length - 8, 0, -1, -length, 0x7fffffff, other.keyEnd - other.keyStart, rng.below(usedOf(m.bytes) + 1)]);
  m.bytes.writeInt32LE(value | 0, e.offset);
  return `key length at ${e.offset}: ${length} -> ${value | 0}`;
};

const used: Mutator = (rng, m) => {
  if (m.bytes.length < 4) return undefined;
  const before = usedOf(m.bytes);
  const entries = walk(m.bytes);
  const value = rng.pick([0, 4, 7, 8, 9, before - 1, before + 1, before - 8, before + 8, before - 24, m.bytes.length, m.bytes.length + 1, entries.length ? rng.pick(entries).offset : 8, rng.below(m.bytes.length + 1)]);
  m.bytes.writeInt32LE(value | 0, 0);
  return `used ${before} -> ${value | 0}`;
};

const nameBytes: Mutator = (rng, m) => {
  const entries = walk(m.bytes);
  if (entries.length === 0) return undefined;
  const e = rng.pick(entries);
  // Most keys start with the family and sample names: aim there more often than not.
  const span = e.keyEnd - e.keyStart;
  const pos = e.keyStart + (rng.chance(0.6) ? rng.below(Math.min(span, 48)) : rng.below(span));
  const byte = rng.chance(0.8) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
  m.bytes[pos] = byte;
  return `key byte at ${pos} -> 0x${byte.toString(16)}`;
};

const escapeInsert: Mutator = (rng, m) => {
  const entries = walk(m.bytes);
  if (entries.length === 0) return undefined;
  const e = rng.pick(entries);
  const escape = rng.pick(ESCAPES);
  if (e.keyEnd - e.keyStart < escape.length + 2) return undefined;
  const pos = e.keyStart + 1 + rng.below(e.keyEnd - e.keyStart - escape.length - 1);
  m.bytes.write(escape, pos, 'latin1');
  return `escape ${escape} written at ${pos}`;
};

const valueBytes: Mutator = (rng, m) => {
  const entries = walk(m.bytes);
  if (entries.length === 0) return undefined;
  const e = rng.pick(entries);
  const at = e.valueOffset + (rng.chance(0.3) ? 8 : 0);
  if (rng.chance(0.25)) {
    for (let i = 0; i < 8; i++) m.bytes[at + i] = rng.below(256);
    return `random bytes at ${at}`;
  }
  const value = rng.pick(SPECIAL_DOUBLES);
  m.bytes.writeDoubleLE(value, at);
  return `${at === e.valueOffset ? 'value' : 'timestamp'} at ${at} -> ${value}`;
};

/** Rewrites one key at the level of its JSON (lengths stay right): what gets past the JSON parser to the name and type rules. */
const keyRewrite: Mutator = (rng, m, pool) => {
  const entries = decodeAll(m.bytes);
  const readable = entries.filter((e) => e.parsed);
  if (readable.length === 0) return undefined;
  const entry = rng.pick(readable);
  const [family, sampleName, labels, help] = entry.parsed!;
  let next: [string, string, Record<string, string>, string] = [family, sampleName, { ...labels }, help];
  let what: string;
  switch (rng.below(7)) {
    case 0: {
      const changed = rng.pick(NAME_CHANGES)(family);
      next = [changed, sampleName.startsWith(family) ? changed + sampleName.slice(family.length) : sampleName, next[2], help];
      what = `family ${JSON.stringify(family)} -> ${JSON.stringify(changed)}`;
      break;
    }
    case 1:
      next[1] = family + rng.pick(SAMPLE_SUFFIXES);
      what = `sample ${JSON.stringify(sampleName)} -> ${JSON.stringify(next[1])}`;
      break;
    case 2: {
      const name = rng.pick(LABEL_NAMES);
      next[2][name] = rng.pick(LABEL_VALUES);
      what = `label ${JSON.stringify(name)}=${JSON.stringify(next[2][name])}`;
      break;
    }
    case 3: {
      const names = Object.keys(next[2]);
      if (names.length === 0) return undefined;
      const name = rng.pick(names);
      if (rng.chance(0.3)) delete next[2][name];
      else next[2][name] = rng.pick(LABEL_VALUES);
      what = `label ${name} ${name in next[2] ? `-> ${JSON.stringify(next[2][name])}` : 'removed'}`;
      break;
    }
    case 4:
      next[3] = rng.pick(HELP_TEXTS);
      what = `help -> ${JSON.stringify(next[3])}`;
      break;
    case 5: {
      // A family of another file (often the neighbour), maybe renamed into another type's names, as a
      // valid key of this file's type: type clashes and name clashes.
      const donor = decodeAll((rng.chance(0.7) ? m.neighbour : rng.pick(pool)).bytes).filter((e) => e.parsed);
      if (donor.length === 0) return undefined;
      const [f, , l, h] = rng.pick(donor).parsed!;
      const renamed = rng.chance(0.6) ? f + rng.pick(CLASHING_SUFFIXES) : f;
      const type = m.prefix.startsWith('gauge') ? 'gauge' : m.prefix;
      next = [renamed, renamed + (VALID_SUFFIX[type] ?? ''), Object.fromEntries(Object.entries(l).filter(([k]) => k !== 'le')), h];
      what = `key of another file: ${JSON.stringify(next.slice(0, 2))}`;
      break;
    }
    default: {
      // The same key twice, or one more entry.
      entries.splice(rng.below(entries.length + 1), 0, { ...entry, value: rng.pick(SPECIAL_DOUBLES) });
      m.bytes = rebuild(entries);
      return `entry ${JSON.stringify(sampleName)} repeated`;
    }
  }
  entry.key = Buffer.from(JSON.stringify(next), 'utf8');
  m.bytes = rebuild(entries);
  return `key ${JSON.stringify(sampleName)}: ${what}`;
};

export type WeightedMutators = ReadonlyArray<readonly [weight: number, name: string, mutate: Mutator]>;

/** The mutators that know the entry layout but not what a key means: they apply to any file of the layout, `.db` or `.nhdb`. */
export const LAYOUT_MUTATORS: WeightedMutators = [
  [3, 'bit-flips', bitFlips],
  [1, 'truncate', truncate],
  [2, 'splice', splice],
  [1, 'key-length', keyLength],
  [1, 'used', used],
  [3, 'name-bytes', nameBytes],
  [2, 'escape', escapeInsert],
  [2, 'value-bytes', valueBytes],
];
const MUTATORS: WeightedMutators = [...LAYOUT_MUTATORS, [8, 'key-rewrite', keyRewrite]];

/** Applies `count` mutations drawn from `mutators` by weight (giving up after 10 tries), each step recorded in `mutant.steps`. */
export function applyMutations(rng: Prng, mutant: Mutant, pool: readonly SeedFile[], mutators: WeightedMutators, count: number): void {
  const totalWeight = mutators.reduce((sum, [w]) => sum + w, 0);
  for (let tries = 0; mutant.steps.length < count && tries < 10; tries++) {
    let roll = rng.below(totalWeight);
    const chosen = mutators.find(([w]) => (roll -= w) < 0)!;
    const step = chosen[2](rng, mutant, pool);
    if (step !== undefined) mutant.steps.push(`${chosen[1]}: ${step}`);
  }
}

/** The mutant of `seed`: a seed file, one to three mutations, sometimes another type's name. */
export function makeMutant(seed: number, pool: readonly SeedFile[]): SeededMutant {
  const rng = new Prng(seed);
  const source = rng.pick(pool);
  const mutant: Mutant = { prefix: source.prefix, bytes: Buffer.from(source.bytes), steps: [], neighbour: rng.pick(pool) };
  applyMutations(rng, mutant, pool, MUTATORS, rng.pick([1, 1, 1, 2, 2, 3]));
  if (rng.chance(0.15)) {
    mutant.prefix = rng.pick(PREFIXES);
    mutant.steps.push(`written as ${mutant.prefix}`);
  }
  return { ...mutant, source: source.name, id: `m${rng.below(3)}`, format: rng.pick(FORMATS) };
}

/** The good files every mutant is scraped beside: one family of each type, names no seed file has. */
function controlFiles(): Array<[name: string, bytes: Buffer]> {
  return [
    [
      'counter_0.db',
      currentLayoutFile([
        { key: pythonKey('fuzzctl_requests', 'fuzzctl_requests_total', { route: '/a' }, 'Control requests.'), value: 3 },
        { key: jsonKey('fuzzctl_requests', 'fuzzctl_requests_total', { route: '/b "q"\n\\' }, 'Control requests.'), value: 5.5 },
      ]),
    ],
    ['gauge_livesum_0.db', currentLayoutFile([{ key: pythonKey('fuzzctl_inflight', 'fuzzctl_inflight', {}, 'Control in flight.'), value: 7 }])],
    [
      'histogram_0.db',
      currentLayoutFile([
        { key: pythonKey('fuzzctl_latency', 'fuzzctl_latency_sum', {}, 'Control latency.'), value: 2.5 },
        ...['0.1', '1.0', '+Inf'].map((le, i) => ({ key: pythonKey('fuzzctl_latency', 'fuzzctl_latency_bucket', { le }, 'Control latency.'), value: i + 1 })),
      ]),
    ],
    [
      'summary_0.db',
      currentLayoutFile([
        { key: pythonKey('fuzzctl_took', 'fuzzctl_took_count', {}, 'Control took.'), value: 4 },
        { key: pythonKey('fuzzctl_took', 'fuzzctl_took_sum', {}, 'Control took.'), value: 1.5 },
      ]),
    ],
  ];
}

const CONTROL_PREFIX = 'fuzzctl_';
const SKIPPED_SAMPLE = `${SKIPPED_FILES_FAMILY}_total`;
const FORMATS: readonly Format[] = ['prometheus', 'openmetrics'];

export interface MutantResult {
  /** Whether the fresh scrape skipped the mutant file. */
  skipped: boolean;
  /** Expositions that passed the strict parser. */
  checked: number;
  /** The format promtool checked, if it ran. */
  promtool?: Format;
}

export class FuzzFailure extends Error {}

/**
 * Scrapes mutants in a directory of control files, each beside its
 * neighbour (an unchanged seed file, for its families to merge or clash
 * with), with a fresh registry and with one long-lived registry (whose
 * tables carry over from mutant to mutant, as a real collector's do), and
 * checks every exposition.
 */
export class FuzzHarness {
  private readonly dir: string;
  private readonly expected = new Map<Format, string>();
  private readonly longLived: MultiprocessRegistry;
  private readonly pool = seedFiles();
  /** The mutant's and its neighbour's files of the previous run. */
  private previous: string[] = [];

  private constructor(private readonly workDir: string) {
    this.dir = path.join(workDir, 'scrape');
    fs.mkdirSync(this.dir, { recursive: true });
    for (const [name, bytes] of controlFiles()) fs.writeFileSync(path.join(this.dir, name), bytes);
    this.longLived = new MultiprocessRegistry({ dir: this.dir, logger: { warn: () => {} }, compactThreshold: 0 });
  }

  static async create(workDir: string): Promise<FuzzHarness> {
    const harness = new FuzzHarness(workDir);
    for (const format of FORMATS) {
      const registry = new MultiprocessRegistry({ dir: harness.dir, compactThreshold: 0, contentType: contentTypeOf(format) });
      const families = parseExposition(await registry.metrics(), format);
      registry.close();
      harness.expected.set(format, controlPart(families));
    }
    return harness;
  }

  /** Scrapes the mutant of `seed`; throws FuzzFailure, with what it did and why, when a rule breaks. */
  async run(seed: number, index: number, promtool: 'never' | 'if-accepted' | 'always'): Promise<MutantResult> {
    const mutant = makeMutant(seed, this.pool);
    const file = path.join(this.dir, `${mutant.prefix}_${mutant.id}.db`);
    const neighbour = path.join(this.dir, `${mutant.neighbour.prefix}_n.db`);
    for (const old of this.previous) fs.rmSync(old, { force: true });
    fs.writeFileSync(neighbour, mutant.neighbour.bytes);
    fs.writeFileSync(file, mutant.bytes);
    this.previous = [file, neighbour];
    const format = mutant.format;
    let stage = 'fresh scrape';
    let text = '';
    try {
      const warnings: string[] = [];
      const fresh = new MultiprocessRegistry({ dir: this.dir, logger: { warn: (m) => warnings.push(m) }, compactThreshold: 0, contentType: contentTypeOf(format) });
      try {
        text = await fresh.metrics();
      } finally {
        fresh.close();
      }
      const families = this.check(text, format);
      const skipped = families.flatMap((f) => f.samples).find((sample) => sample.name === SKIPPED_SAMPLE)?.value;
      assert.ok(skipped === '0.0' || skipped === '1.0', `${SKIPPED_SAMPLE} ${skipped}`);
      if (skipped === '1.0') assert.ok(warnings.some((w) => w.startsWith(`${file}: skipped: `)), `the log names the skipped file and why:\n${warnings.join('\n')}`);
      const freshText = text;
      let checked = 1;

      stage = 'long-lived scrape';
      const otherFormat = format === 'prometheus' ? 'openmetrics' : 'prometheus';
      this.longLived.setContentType(contentTypeOf(otherFormat));
      text = await this.longLived.metrics();
      this.check(text, otherFormat);
      checked++;

      const result: MutantResult = { skipped: skipped === '1.0', checked };
      if (promtool === 'always' || (promtool === 'if-accepted' && !result.skipped)) {
        stage = `promtool (${format})`;
        text = freshText;
        this.promtool(text, format);
        result.promtool = format;
      }
      return result;
    } catch (err) {
      const saved = path.join(this.workDir, 'failures', `mutant-${seed}.db`);
      fs.mkdirSync(path.dirname(saved), { recursive: true });
      fs.writeFileSync(saved, mutant.bytes);
      throw new FuzzFailure(
        [
          `mutant ${index} (seed ${seed}) of ${mutant.source}, written as ${path.basename(file)} beside ${mutant.neighbour.name}: ${stage} failed: ${(err as Error).message.slice(0, 4000)}`,
          `steps: ${mutant.steps.join('; ')}`,
          `bytes saved as ${saved}`,
          `exposition:\n${text.slice(0, 3000)}`,
        ].join('\n'),
      );
    }
  }

  /** The strict parse, and the control families exactly as they are alone. */
  private check(text: string, format: Format): ParsedFamily[] {
    const families = parseExposition(text, format);
    assert.equal(controlPart(families), this.expected.get(format), 'the control files are exported exactly as alone');
    return families;
  }

  private promtool(text: string, format: Format): void {
    if (format === 'prometheus') {
      assertPromtoolParses(text);
      return;
    }
    const work = fs.mkdtempSync(path.join(this.workDir, 'promtool-'));
    try {
      assertOpenMetricsParses(text, work);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  close(): void {
    this.longLived.close();
  }
}

function contentTypeOf(format: Format): typeof PROMETHEUS_CONTENT_TYPE | typeof OPENMETRICS_CONTENT_TYPE {
  return format === 'prometheus' ? PROMETHEUS_CONTENT_TYPE : OPENMETRICS_CONTENT_TYPE;
}

function controlPart(families: readonly ParsedFamily[]): string {
  return JSON.stringify(families.filter((f) => f.name.startsWith(CONTROL_PREFIX)));
}

// The `.nhdb` sidecar files are untrusted input as the `.db` files are
// (test/fuzz.test.ts): mutants of real native histogram and summary bucket
// files, each placed beside good files, are scraped by fresh registries and
// by one long-lived registry, in text, OpenMetrics and protobuf. No scrape
// may throw, every exposition must parse strictly, the good files' series
// stay exactly as they are alone, a native histogram's count is the sum of
// its buckets and at least its classic _count, summary quantiles are finite
// and ordered, and a skipped file is reported.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { MultiprocessRegistry, Registry, SKIPPED_FILES_FAMILY } from '../src/index.js';
import { tempDir } from './helpers/fixtures.js';
import { LAYOUT_MUTATORS, Prng, SPECIAL_DOUBLES, applyMutations, decodeAll, mutantSeed, rebuild, walk, type DecodedEntry, type Mutant, type Mutator, type SeedFile, type WeightedMutators } from './helpers/fuzz.js';
import { parseExposition, type Format, type ParsedFamily } from './helpers/exposition-parser.js';
import { bucketsOf, decodeFamilies, type DecodedFamily, type DecodedHistogram } from './helpers/protobuf-decode.js';
import { SIDECAR_AGE_BUCKETS, SIDECAR_EPOCH_MS } from './helpers/sidecar-writer.js';

// A seed of its own at every run (FUZZ_SEED=n repeats one), so that runs over time try ever other mutants.
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 32);
const MUTANTS = Number(process.env.SIDECAR_FUZZ_MUTANTS ?? 400);
const WRITER = path.join(__dirname, 'helpers', 'sidecar-writer.ts');
const CONTROL_PREFIX = 'fuzzctl_';
const SKIPPED_SAMPLE = `${SKIPPED_FILES_FAMILY}_total`;

type ScrapeFormat = Format | 'protobuf';
const FORMATS: readonly ScrapeFormat[] = ['prometheus', 'openmetrics', 'protobuf'];
const CONTENT_TYPES = {
  prometheus: Registry.PROMETHEUS_CONTENT_TYPE,
  openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
  protobuf: Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE,
} as const;

/** Runs the sidecar writer into `dir` under file id `id`, its families named `<prefix>...`. */
function writeSidecars(dir: string, id: string, prefix: string): void {
  const result = spawnSync(process.execPath, ['--import', 'tsx', WRITER], {
    env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir, SIDECAR_ID: id, SIDECAR_PREFIX: prefix, NODE_NO_WARNINGS: '1' },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `the sidecar writer failed:\n${result.stderr}`);
}

// ---- Mutators of what a sidecar key means (the layout's own come from helpers/fuzz.ts) ----

/** The epoch a windowed summary counts in now, for the epoch mutants. */
const NOW_EPOCH = Math.floor(Date.now() / SIDECAR_EPOCH_MS);
const EPOCHS = [NaN, Infinity, -Infinity, -1, -2, -0, 0, 5e-324, 0.5, NOW_EPOCH, NOW_EPOCH + 0.5, NOW_EPOCH - 1, NOW_EPOCH - SIDECAR_AGE_BUCKETS + 1, NOW_EPOCH - SIDECAR_AGE_BUCKETS, NOW_EPOCH + 1, NOW_EPOCH + 1e6, 2 ** 53, 1e308, -1e308];
const SCHEMAS = ['-5', '-4', '-1', '0', '3', '5', '8', '9', '-0', '03', '+1', ' 1', '1.5', 'x', ''];
const INDEXES = ['0', '-0', '1', '-1', '12', '-2000', '1048576', '1048577', '-1048577', '1073741824', '1073741825', '2147483648', '1e3', '01', '1.0', 'NaN', 'Infinity', '', ' 3', '9007199254740993'];
const THRESHOLDS = ['0', '-0', '1', '2.938735877055719e-39', '1e-128', '0.5', '100', '1e308', '1e400', 'NaN', 'Infinity', '-1', '0.0', '5e-324', '1e-7', '.5'];
const RINGS = ['0', '1', '3', '4', '1023', '1024', '-1', '01', '1e2', '', 'x'];
const MAX_AGES = ['0', '1', '600', '6912000', '-1', '-0', 'NaN', 'Infinity', '1e400', '0.5', '1e308', '01', '5e-324'];
const AGE_BUCKETS = ['0', '1', '4', '5', '1024', '1025', '-1', '1.5', '01', ''];
const PERCENTILES = ['', '0.5', '0.5,0.5', '1,0', '0,1', '0.1,0.5,0.99', '0.99,0.5,0.1', '2', '0.5,1.5', '1.0000001', '-1,0.5', '-0', '-0.1', 'NaN', '1e-7', '0.5,', ',0.5', '0.50', '1.0', '0.3,0.3,0.3', '0,0,1,1'];
const KINDS = ['zero', 'pos', 'neg', 'min', 'max', 'window', 'Pos', 'sum', ''];
const LABELS: Array<[string, string | undefined]> = [['le', '1'], ['quantile', '0.5'], ['route', '/b'], ['route', '/zz'], ['route', undefined], ['extra', 'x'], ['route', '\ud800'], ['pid', '1']];

function readable(entries: readonly DecodedEntry[]): DecodedEntry[] {
  return entries.filter((e) => e.parsed);
}

/** Rewrites one entry's key (the JSON stays valid) and the file around it. */
function rewriteKey(m: Mutant, rng: Prng, change: (key: NonNullable<DecodedEntry['parsed']>) => string | undefined, windowsFirst = false): string | undefined {
  const entries = decodeAll(m.bytes);
  const candidates = readable(entries);
  if (candidates.length === 0) return undefined;
  // A file has a window entry per series among hundreds of buckets: aimed at when asked, or it is almost never met.
  const windows = candidates.filter((e) => e.parsed![1].startsWith('window:'));
  const entry = windowsFirst && windows.length > 0 && rng.chance(0.35) ? rng.pick(windows) : rng.pick(candidates);
  const key = structuredClone(entry.parsed!);
  const before = key[1];
  const what = change(key);
  if (what === undefined) return undefined;
  entry.key = Buffer.from(JSON.stringify(key), 'utf8');
  m.bytes = rebuild(entries);
  return `${JSON.stringify(before)}: ${what}`;
}

/** One part of an entry name (`kind:a:b`) replaced by text a writer may or may not write. */
const entryNamePart: Mutator = (rng, m) =>
  rewriteKey(m, rng, (key) => {
    const parts = key[1].split(':');
    const i = rng.below(parts.length);
    if (i === 0) parts[0] = rng.pick(KINDS);
    else if (parts[0] === 'window') parts[i] = rng.pick(i === 1 ? MAX_AGES : i === 2 ? AGE_BUCKETS : PERCENTILES);
    else if (m.prefix === 'histogram') parts[i] = rng.pick(i === 1 ? SCHEMAS : parts[0] === 'zero' ? THRESHOLDS : INDEXES);
    else parts[i] = rng.pick(i === 1 ? RINGS : INDEXES);
    if (rng.chance(0.1)) parts.splice(rng.below(parts.length + 1), 0, rng.pick(['', '0', '1']));
    key[1] = parts.join(':');
    return `-> ${JSON.stringify(key[1])}`;
  }, true);

/** A window entry's field rewritten, its percentiles more often than not: a window is one entry among a series' many. */
const windowEdit: Mutator = (rng, m) => {
  const entries = decodeAll(m.bytes);
  const windows = readable(entries).filter((e) => e.parsed![1].startsWith('window:'));
  if (windows.length === 0) return undefined;
  const entry = rng.pick(windows);
  const parts = entry.parsed![1].split(':');
  const field = rng.chance(0.6) ? 3 : rng.chance(0.5) ? 1 : 2;
  parts[field] = rng.pick(field === 1 ? MAX_AGES : field === 2 ? AGE_BUCKETS : PERCENTILES);
  const before = entry.parsed![1];
  entry.parsed![1] = parts.join(':');
  entry.key = Buffer.from(JSON.stringify(entry.parsed), 'utf8');
  m.bytes = rebuild(entries);
  return `${JSON.stringify(before)} -> ${JSON.stringify(entry.parsed![1])}`;
};

/** Every entry of one series moved to another schema (native) or ring place (summary): a whole series as a writer at another setting would write it, or none would. */
const seriesSetting: Mutator = (rng, m) => {
  const entries = decodeAll(m.bytes);
  const buckets = readable(entries).filter((e) => /^(zero|pos|neg|min|max):/.test(e.parsed![1]));
  if (buckets.length === 0) return undefined;
  const series = rng.pick(buckets).parsed!;
  const sameSeries = (e: DecodedEntry): boolean => e.parsed !== undefined && e.parsed[0] === series[0] && JSON.stringify(e.parsed[2]) === JSON.stringify(series[2]);
  const to = rng.pick(m.prefix === 'histogram' ? SCHEMAS : RINGS);
  for (const e of entries) {
    if (!sameSeries(e) || !/^(zero|pos|neg|min|max):/.test(e.parsed![1])) continue;
    const parts = e.parsed![1].split(':');
    parts[1] = to;
    e.parsed![1] = parts.join(':');
    e.key = Buffer.from(JSON.stringify(e.parsed), 'utf8');
  }
  m.bytes = rebuild(entries);
  return `every bucket of ${series[0]}${JSON.stringify(series[2])} at ${m.prefix === 'histogram' ? 'schema' : 'ring place'} ${JSON.stringify(to)}`;
};

/** A label added, changed or removed: `le` and `quantile` are refused, other labels move an entry to another series. */
const labelEdit: Mutator = (rng, m) =>
  rewriteKey(m, rng, (key) => {
    const [name, value] = rng.pick(LABELS);
    if (value === undefined) delete key[2][name];
    else key[2][name] = value;
    return `label ${name} ${value === undefined ? 'removed' : `= ${JSON.stringify(value)}`}`;
  });

/** The family renamed: to another of the file's families, another kind's, or a name that is no family's. */
const familyEdit: Mutator = (rng, m, pool) =>
  rewriteKey(m, rng, (key) => {
    const families = [...new Set(pool.flatMap((file) => readable(decodeAll(file.bytes)).map((e) => e.parsed![0])))];
    const name = rng.chance(0.7) ? rng.pick(families) : rng.pick([`${key[0]}_total`, `${key[0]}_bucket`, 'fuzz_unknown', 'prom_multiproc_skipped_files', `${key[0]}x`]);
    key[0] = name;
    return `family -> ${name}`;
  });

/** An entry's value (a count or an extreme) or timestamp (its epoch) set to a chosen double. */
const valueOrEpoch: Mutator = (rng, m) => {
  const entries = decodeAll(m.bytes);
  if (entries.length === 0) return undefined;
  // Zero buckets (one per series, or per ring place) are aimed at too: their count goes into the histogram's unfiltered.
  const zeros = entries.filter((e) => e.parsed?.[1].startsWith('zero:'));
  const entry = zeros.length > 0 && rng.chance(0.3) ? rng.pick(zeros) : rng.pick(entries);
  if (rng.chance(0.5)) {
    entry.timestamp = rng.pick(EPOCHS);
    m.bytes = rebuild(entries);
    return `timestamp of ${entry.key.toString('utf8', 0, 60)} -> ${entry.timestamp}`;
  }
  entry.value = rng.pick([...SPECIAL_DOUBLES, NaN, -1, Infinity, 0, 1, 3, 0.5, 2 ** 53, 2 ** 64, -(2 ** 63)]);
  m.bytes = rebuild(entries);
  return `value of ${entry.key.toString('utf8', 0, 60)} -> ${entry.value}`;
};

/** An entry repeated (with its own value or another), two entries swapped, or one removed: windows after buckets, keys twice. */
const entryOrder: Mutator = (rng, m) => {
  const entries = decodeAll(m.bytes);
  if (entries.length < 2) return undefined;
  const i = rng.below(entries.length);
  const j = rng.below(entries.length);
  let what: string;
  switch (rng.below(3)) {
    case 0: {
      const copy = { ...entries[i], value: rng.chance(0.5) ? entries[i].value : rng.pick(SPECIAL_DOUBLES) };
      entries.splice(j, 0, copy);
      what = `entry ${i} repeated at ${j}`;
      break;
    }
    case 1:
      [entries[i], entries[j]] = [entries[j], entries[i]];
      what = `entries ${i} and ${j} swapped`;
      break;
    default:
      entries.splice(i, 1);
      what = `entry ${i} removed`;
  }
  m.bytes = rebuild(entries);
  return what;
};

/** Entries of the other kind of sidecar file (a native bucket in a summary file, a summary window or ring bucket in a native file), renamed to this file's families or not. */
const otherKind: Mutator = (rng, m, pool) => {
  const others = pool.filter((file) => file.prefix !== m.prefix);
  if (others.length === 0) return undefined;
  const donors = readable(decodeAll(rng.pick(others).bytes));
  const entries = decodeAll(m.bytes);
  const mine = readable(entries);
  if (donors.length === 0) return undefined;
  const added: string[] = [];
  for (let k = 1 + rng.below(4); k > 0; k--) {
    const donor = rng.pick(donors);
    const key = structuredClone(donor.parsed!);
    if (mine.length > 0 && rng.chance(0.7)) {
      const host = rng.pick(mine).parsed!;
      key[0] = host[0];
      key[2] = { ...host[2] };
    }
    entries.splice(rng.below(entries.length + 1), 0, { key: Buffer.from(JSON.stringify(key), 'utf8'), parsed: key, value: donor.value, timestamp: donor.timestamp });
    added.push(JSON.stringify(key.slice(0, 2)));
  }
  m.bytes = rebuild(entries);
  return `entries of the other kind: ${added.join(', ')}`;
};

const SIDECAR_MUTATORS: WeightedMutators = [
  ...LAYOUT_MUTATORS,
  [8, 'entry-name', entryNamePart],
  [3, 'series-setting', seriesSetting],
  [2, 'window', windowEdit],
  [3, 'label', labelEdit],
  [2, 'family', familyEdit],
  [6, 'value-or-epoch', valueOrEpoch],
  [3, 'entry-order', entryOrder],
  [3, 'other-kind', otherKind],
];

/** Mutators whose files mostly stay readable: the values and epochs, the order of entries, a series at another setting. */
const READABLE_MUTATORS: WeightedMutators = [
  [2, 'value-or-epoch', valueOrEpoch],
  [1, 'entry-order', entryOrder],
  [1, 'series-setting', seriesSetting],
];

interface SidecarMutant extends Mutant {
  /** The name it is written under in the scrape directory. */
  name: string;
  /** The same file with one entry's epoch, one no scrape counts, replaced by another such (-2): it must be read exactly as the mutant. */
  twin?: Buffer;
  /** Whether the unchanged source sidecars lie beside it (their series merge with its). */
  withNeighbours: boolean;
}

function makeSidecarMutant(seed: number, pool: readonly SeedFile[]): SidecarMutant {
  const rng = new Prng(seed);
  const source = rng.pick(pool);
  const mutant: Mutant = { prefix: source.prefix, bytes: Buffer.from(source.bytes), steps: [], neighbour: source };
  // A twin pair (see uncountedEpoch) is made from a file that stays readable more often than not: few steps, none of the layout's.
  const twinned = rng.chance(0.3);
  applyMutations(rng, mutant, pool, twinned ? READABLE_MUTATORS : SIDECAR_MUTATORS, twinned ? rng.below(2) : rng.pick([1, 1, 2, 2, 3]));
  // Sometimes under the other kind's name: a native file read as summary buckets and the reverse.
  if (rng.chance(0.15)) {
    mutant.prefix = mutant.prefix === 'histogram' ? 'summary' : 'histogram';
    mutant.steps.push(`written as ${mutant.prefix}`);
  }
  const twin = twinned ? uncountedEpoch(rng, mutant) : undefined;
  return { ...mutant, name: `${mutant.prefix}_m${rng.below(3)}.nhdb`, withNeighbours: rng.chance(0.5), twin };
}

/**
 * Epochs no scrape counts, in a window of any length or without one (whose
 * epoch is 0): not numbers, infinities, the future, the far past. Native
 * buckets count whatever their timestamp but -1 (withdrawn).
 */
// NaN thrice: the value every comparison lets through.
const UNCOUNTED_EPOCHS = [NaN, NaN, NaN, Infinity, -Infinity, 1e308, -1e308, NOW_EPOCH + 1, NOW_EPOCH + 0.5, 2 ** 53, 0.5, -3];

/** Gives one bucket entry of `mutant` (in place, no other byte changed) an epoch from UNCOUNTED_EPOCHS; returns the twin with -2 there instead. */
function uncountedEpoch(rng: Prng, mutant: Mutant): Buffer | undefined {
  const buckets = walk(mutant.bytes).filter((e) => /^\["[^"]*", "(zero|pos|neg|min|max):/.test(mutant.bytes.toString('utf8', e.keyStart, e.keyEnd)));
  if (buckets.length === 0) return undefined;
  const entry = rng.pick(buckets);
  const epoch = rng.pick(UNCOUNTED_EPOCHS);
  mutant.bytes.writeDoubleLE(epoch, entry.valueOffset + 8);
  mutant.steps.push(`epoch of the entry at ${entry.offset} -> ${epoch}, its twin's -2`);
  const twin = Buffer.from(mutant.bytes);
  twin.writeDoubleLE(-2, entry.valueOffset + 8);
  return twin;
}

// ---- What every exposition must hold ----

interface Scrape {
  format: ScrapeFormat;
  text?: string;
  /** The exposition as compared between twins: the text, or the decoded protobuf as JSON. */
  body: string;
  families?: ParsedFamily[];
  proto?: DecodedFamily[];
  skipped: number;
}

/** The quantiles of every summary label set: finite, and not decreasing as the quantile rises. */
function assertQuantilesOrdered(groups: Map<string, Array<[number, number]>>, where: string): void {
  for (const [group, quantiles] of groups) {
    const sorted = [...quantiles].sort((a, b) => a[0] - b[0]);
    for (const [q, v] of sorted) {
      assert.ok(q >= 0 && q <= 1, `${where} ${group}: quantile ${q}`);
      assert.ok(Number.isFinite(v), `${where} ${group}: quantile ${q} is ${v}`);
    }
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i][1] >= sorted[i - 1][1], `${where} ${group}: quantile ${sorted[i][0]} = ${sorted[i][1]} below quantile ${sorted[i - 1][0]} = ${sorted[i - 1][1]}`);
  }
}

function textQuantiles(families: readonly ParsedFamily[]): Map<string, Array<[number, number]>> {
  const groups = new Map<string, Array<[number, number]>>();
  for (const family of families) {
    if (family.type !== 'summary') continue;
    for (const sample of family.samples) {
      if (sample.labels.quantile === undefined) continue;
      const { quantile, ...rest } = sample.labels;
      const group = `${family.name}${JSON.stringify(rest)}`;
      groups.set(group, [...(groups.get(group) ?? []), [Number(quantile), Number(sample.value)]]);
    }
  }
  return groups;
}

/** Every sample but quantiles and the collector's own counter: what only `.db` files give, which no sidecar may change. */
function classicPart(families: readonly ParsedFamily[]): string {
  return JSON.stringify(
    families.filter((f) => !f.name.startsWith(SKIPPED_FILES_FAMILY)).map((f) => ({ ...f, samples: f.samples.filter((s) => !(f.type === 'summary' && s.labels.quantile !== undefined)) })),
  );
}

/** Equal texts, or a failure showing where they first differ (the texts are long). */
function assertSame(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  let at = 0;
  while (actual[at] === expected[at]) at++;
  assert.fail(`${what}: from character ${at}, ${JSON.stringify(actual.slice(Math.max(0, at - 80), at + 200))} where it was ${JSON.stringify(expected.slice(Math.max(0, at - 80), at + 200))}`);
}

function controlPart(scrape: Scrape): string {
  if (scrape.proto) return JSON.stringify(scrape.proto.filter((f) => f.name?.startsWith(CONTROL_PREFIX)));
  return JSON.stringify(scrape.families!.filter((f) => f.name.startsWith(CONTROL_PREFIX)));
}

/** A side's buckets as Prometheus reads them: absolute counts in a float histogram, deltas in an integer one (and not the other field). */
function nativeSide(h: DecodedHistogram, side: 'positive' | 'negative', float: boolean, where: string): Array<[number, number]> {
  const [spans, deltas, counts] = side === 'positive' ? [h.positiveSpan, h.positiveDelta, h.positiveCount] : [h.negativeSpan, h.negativeDelta, h.negativeCount];
  assert.deepEqual((float ? deltas : counts) ?? [], [], `${where}: a ${float ? 'float' : 'integer'} histogram with ${side} ${float ? 'deltas' : 'absolute counts'}, which Prometheus does not read`);
  return bucketsOf(spans, float ? undefined : (deltas ?? []), float ? (counts ?? []) : undefined);
}

function labelText(labels: Array<{ name?: string; value?: string }> | undefined): string {
  return JSON.stringify(Object.fromEntries((labels ?? []).map((l) => [l.name ?? '', l.value ?? ''])));
}

/**
 * Native histograms as Prometheus checks them (it rejects the target
 * otherwise): the count is the zero bucket plus every bucket, no count is
 * negative or NaN. With `classicCounts` (when the native files of the
 * series are all there, unchanged, beside the mutant: a mutant alone may
 * have lost counts its .db file has) also docs/format.md's "Order": the
 * count is at least the classic _count of the same scrape's files, so also
 * at least every classic bucket. Summaries: finite, ordered quantiles.
 */
function assertProtobufSound(proto: readonly DecodedFamily[], classicCounts: ReadonlyMap<string, number> | undefined): void {
  const quantiles = new Map<string, Array<[number, number]>>();
  for (const family of proto) {
    for (const metric of family.metric ?? []) {
      const where = `${family.name}${labelText(metric.label)}`;
      if (family.type === 2 && metric.summary) quantiles.set(where, (metric.summary.quantile ?? []).map((q) => [q.quantile ?? 0, q.value ?? 0]));
      const h = metric.histogram;
      if (family.type !== 4 || !h) continue;
      const count = (h.sampleCountFloat ?? 0) > 0 ? h.sampleCountFloat! : (h.sampleCount ?? 0);
      for (const bucket of classicCounts ? (h.bucket ?? []) : []) {
        const cumulative = bucket.cumulativeCount ?? bucket.cumulativeCountFloat ?? 0;
        assert.ok(cumulative <= count, `${where}: classic bucket le=${bucket.upperBound} holds ${cumulative}, above the count ${count}`);
      }
      const native = h.schema !== undefined || h.zeroThreshold !== undefined || h.zeroCount !== undefined || h.zeroCountFloat !== undefined || h.positiveSpan !== undefined || h.negativeSpan !== undefined;
      if (!native) continue;
      assert.ok(h.schema === undefined || (h.schema >= -4 && h.schema <= 8), `${where}: schema ${h.schema}`);
      // Prometheus' rule: a float histogram when either float count is set and above 0.
      const float = (h.sampleCountFloat ?? 0) > 0 || (h.zeroCountFloat ?? 0) > 0;
      if (float) assert.ok(h.sampleCount === undefined && h.zeroCount === undefined, `${where}: a float histogram with integer counts`);
      const zero = float ? (h.zeroCountFloat ?? 0) : (h.zeroCount ?? 0);
      const positive = nativeSide(h, 'positive', float, where);
      const negative = nativeSide(h, 'negative', float, where);
      let total = zero;
      for (const [index, c] of [...positive, ...negative]) {
        assert.ok(Number.isFinite(c) && c >= 0, `${where}: bucket ${index} counts ${c}`);
        total += c;
      }
      assert.ok(Number.isFinite(zero) && zero >= 0, `${where}: zero bucket counts ${zero}`);
      assert.ok(Number.isFinite(count) && count >= 0, `${where}: count ${count}`);
      assert.equal(count, total, `${where}: the count is the sum of the buckets`);
      const classic = classicCounts?.get(where);
      if (classic !== undefined) assert.ok(count >= classic, `${where}: native count ${count} below the classic _count ${classic}`);
    }
  }
  assertQuantilesOrdered(quantiles, 'protobuf');
}

/** Classic `_count` per histogram label set of a text scrape, keyed as assertProtobufSound() names a metric. */
function classicCountsOf(families: readonly ParsedFamily[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const family of families) {
    if (family.type !== 'histogram') continue;
    for (const sample of family.samples) {
      if (sample.name !== `${family.name}_count`) continue;
      const sorted = Object.fromEntries(Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
      counts.set(`${family.name}${JSON.stringify(sorted)}`, Number(sample.value));
    }
  }
  return counts;
}

async function scrapeWith(registry: MultiprocessRegistry, format: ScrapeFormat): Promise<Scrape> {
  const body: string | Buffer = await registry.setContentType(CONTENT_TYPES[format]).metrics();
  if (format === 'protobuf') {
    const proto = decodeFamilies(body as Buffer);
    const skipped = proto.find((f) => f.name === SKIPPED_SAMPLE || f.name === SKIPPED_FILES_FAMILY)?.metric?.[0]?.counter?.value ?? 0;
    return { format, proto, skipped, body: JSON.stringify(proto) };
  }
  const text = body as string;
  const families = parseExposition(text, format);
  const skippedText = families.flatMap((f) => f.samples).find((s) => s.name === SKIPPED_SAMPLE)?.value ?? '0';
  return { format, text, families, skipped: Number(skippedText), body: text };
}

function newRegistry(dir: string, warnings: string[]): MultiprocessRegistry {
  return new MultiprocessRegistry({ dir, compactThreshold: 0, logger: { warn: (message) => void warnings.push(message) } });
}

describe('sidecar (.nhdb) files are untrusted input', () => {
  test(`${MUTANTS} mutants of real native histogram and summary bucket files: no throw, every exposition sound, the good files exact, skips reported`, { timeout: 240_000 }, async (t) => {
    t.diagnostic(`sidecar fuzz seed ${SEED} (repeat with FUZZ_SEED=${SEED})`);
    const started = performance.now();
    const work = tempDir('prom-multiproc-sidecar-fuzz-');
    const made = path.join(work.dir, 'made');
    const dir = path.join(work.dir, 'scrape');
    fs.mkdirSync(made);
    fs.mkdirSync(dir);
    // The control writer's files stay in the directory unchanged; the source writer's .db files too, its sidecars are what is mutated.
    writeSidecars(made, 'ctl', CONTROL_PREFIX);
    writeSidecars(made, 'src', 'fuzz_');
    for (const name of fs.readdirSync(made)) if (name.endsWith('_ctl.db') || name.endsWith('_ctl.nhdb') || name.endsWith('_src.db')) fs.copyFileSync(path.join(made, name), path.join(dir, name));
    const pool: SeedFile[] = ['histogram', 'summary'].map((prefix) => ({ name: `${prefix}_src.nhdb`, prefix, bytes: fs.readFileSync(path.join(made, `${prefix}_src.nhdb`)) }));

    const baseline = new Map<ScrapeFormat, Scrape>();
    for (const format of FORMATS) {
      const warnings: string[] = [];
      const registry = newRegistry(dir, warnings);
      baseline.set(format, await scrapeWith(registry, format));
      registry.close();
      assert.deepEqual(warnings, []);
    }
    const baseControl = new Map(FORMATS.map((format) => [format, controlPart(baseline.get(format)!)]));
    const baseClassic = new Map(FORMATS.map((format) => [format, baseline.get(format)!.families && classicPart(baseline.get(format)!.families!)]));
    assert.match(baseControl.get('prometheus')!, /fuzzctl_recent_seconds/, 'the control summaries export quantiles');
    assert.ok(baseline.get('protobuf')!.proto!.some((f) => f.name === 'fuzzctl_lowered_seconds' && f.metric?.[0]?.histogram?.schema !== undefined), 'the control histograms are native');

    const longLivedWarnings: string[] = [];
    const longLived = newRegistry(dir, longLivedWarnings);
    let longLivedSkipped = 0;
    const counts = { mutants: 0, skippedFiles: 0, mergedFiles: 0, expositions: 0, nativeMerged: 0, quantilesMerged: 0, twins: 0, failures: 0 };
    const failures: string[] = [];
    let previous: string[] = [];
    for (let index = 0; index < MUTANTS; index++) {
      const seed = mutantSeed(SEED, index);
      const mutant = makeSidecarMutant(seed, pool);
      for (const old of previous) fs.rmSync(old, { force: true });
      const file = path.join(dir, mutant.name);
      fs.writeFileSync(file, mutant.bytes);
      previous = [file];
      if (mutant.withNeighbours) {
        for (const seedFile of pool) fs.writeFileSync(path.join(dir, seedFile.name.replace('_src.', '_n.')), seedFile.bytes);
        previous.push(...pool.map((seedFile) => path.join(dir, seedFile.name.replace('_src.', '_n.'))));
      }
      counts.mutants++;
      let stage = 'fresh scrape';
      try {
        let classicCounts = new Map<string, number>();
        let skippedOnce = false;
        const bodies = new Map<ScrapeFormat, string>();
        for (const format of FORMATS) {
          stage = `fresh ${format} scrape`;
          const warnings: string[] = [];
          const fresh = newRegistry(dir, warnings);
          let scrape: Scrape;
          try {
            scrape = await scrapeWith(fresh, format);
          } finally {
            fresh.close();
          }
          counts.expositions++;
          bodies.set(format, scrape.body);
          assertSame(controlPart(scrape), baseControl.get(format)!, 'the control files are exported exactly as alone');
          assert.ok(scrape.skipped === 0 || scrape.skipped === 1, `${SKIPPED_SAMPLE} ${scrape.skipped}`);
          if (scrape.skipped === 1) {
            skippedOnce = true;
            assert.ok(warnings.some((w) => w.startsWith(`${file}: skipped: `)), `the log names the skipped file and why:\n${warnings.join('\n')}`);
          } else assert.deepEqual(warnings, [], 'nothing skipped, nothing logged');
          if (scrape.families) {
            assertSame(classicPart(scrape.families), baseClassic.get(format)!, 'no sidecar changes what the .db files give');
            assertQuantilesOrdered(textQuantiles(scrape.families), format);
            if (format === 'prometheus') classicCounts = classicCountsOf(scrape.families);
            if (format === 'prometheus' && scrape.skipped === 0 && textQuantiles(scrape.families).size > textQuantiles(baseline.get(format)!.families!).size) counts.quantilesMerged++;
          } else {
            assertProtobufSound(scrape.proto!, mutant.withNeighbours ? classicCounts : undefined);
            if (scrape.skipped === 0 && mutant.prefix === 'histogram') counts.nativeMerged++;
          }
        }
        if (skippedOnce) counts.skippedFiles++;
        else counts.mergedFiles++;
        if (mutant.twin) {
          fs.writeFileSync(file, mutant.twin);
          for (const format of FORMATS) {
            stage = `fresh ${format} scrape of the twin`;
            const fresh = newRegistry(dir, []);
            try {
              assertSame((await scrapeWith(fresh, format)).body, bodies.get(format)!, 'an entry of an epoch no scrape counts is read as one of another such epoch');
            } finally {
              fresh.close();
            }
          }
          counts.twins++;
          fs.writeFileSync(file, mutant.bytes);
        }
        for (const format of FORMATS) {
          stage = `long-lived ${format} scrape`;
          const scrape = await scrapeWith(longLived, format);
          counts.expositions++;
          assertSame(controlPart(scrape), baseControl.get(format)!, 'the control files are exported exactly as alone');
          assert.ok(scrape.skipped - longLivedSkipped === 0 || scrape.skipped - longLivedSkipped === 1, `${SKIPPED_SAMPLE} went from ${longLivedSkipped} to ${scrape.skipped}`);
          longLivedSkipped = scrape.skipped;
          if (scrape.families) {
            assertSame(classicPart(scrape.families), baseClassic.get(format)!, 'no sidecar changes what the .db files give');
            assertQuantilesOrdered(textQuantiles(scrape.families), format);
          } else assertProtobufSound(scrape.proto!, mutant.withNeighbours ? classicCounts : undefined);
        }
      } catch (err) {
        counts.failures++;
        const saved = path.join(work.dir, 'failures', `mutant-${seed}-${mutant.name}`);
        fs.mkdirSync(path.dirname(saved), { recursive: true });
        fs.writeFileSync(saved, mutant.bytes);
        failures.push(
          `mutant ${index} (seed ${seed}) written as ${mutant.name}${mutant.withNeighbours ? ' beside the unchanged sidecars' : ''}: ${stage} failed: ${(err as Error).message.slice(0, 1500)}\n  steps: ${mutant.steps.join('; ')}\n  bytes saved as ${saved}`,
        );
      }
    }
    longLived.close();
    const seconds = (performance.now() - started) / 1000;
    if (process.env.SIDECAR_FUZZ_LIST) for (const failure of failures) console.log(failure);
    t.diagnostic(`sidecar fuzz counts ${JSON.stringify(counts)} in ${seconds.toFixed(1)} s`);
    assert.deepEqual(failures.slice(0, 3), [], `seed ${SEED}: ${counts.failures} of ${counts.mutants} mutants failed (repeat with FUZZ_SEED=${SEED})`);
    work.cleanup();
    assert.equal(counts.expositions, 6 * MUTANTS);
    // Mutants that only ever got skipped, or never, would leave half the reader untried.
    assert.ok(counts.skippedFiles > MUTANTS / 10 && counts.mergedFiles > MUTANTS / 10, JSON.stringify(counts));
    assert.ok(counts.quantilesMerged > MUTANTS / 20 && counts.nativeMerged > MUTANTS / 20, `mutants whose buckets were merged: ${JSON.stringify(counts)}`);
  });
});

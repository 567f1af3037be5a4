import { parseBound } from '../format/float.js';
import { decodeEntryKey } from '../format/key.js';
import { checkedUsed, newRawEntry, readEntry } from '../format/layout.js';
import { mergeRule, type MergeRule } from '../format/merge.js';
import type { GaugeMode, MetricType } from '../format/names.js';
import { ExposedNameClaims, renderLabels, type NameHolder } from './exposition.js';
import { compareText, labelsFromKey, labelsKey, sortedNames, type Family, type Sample } from './family.js';
import { KeyTable } from './key-table.js';
import { TextWriter } from './text-writer.js';

/**
 * mergeRule() as numbers: the merge loop switches on it for every entry of
 * every scrape, so it keeps its own inlined switch. format/merge.ts owns the
 * rule (mergeInto() is the same merge, for compaction): change both together.
 */
const enum Merge {
  Sum,
  Min,
  Max,
  MostRecent,
  /** `all`/`liveall`: one series per source, told apart by the `pid` label. */
  PerSource,
}

const MERGE: Record<MergeRule, Merge> = { sum: Merge.Sum, min: Merge.Min, max: Merge.Max, mostrecent: Merge.MostRecent, 'per-process': Merge.PerSource };

/** One file (or in-memory store) as read for this scrape. */
export interface SourceImage {
  /** Stable name: the file path, or a name for an in-memory store. */
  name: string;
  /** Changes when the file at `name` is another file (replaced, recreated). */
  identity: string;
  /** Holds at least bytes [0, used); its byteOffset is a multiple of 8. */
  buf: Buffer;
  used: number;
  type: MetricType;
  mode?: GaugeMode;
  /** The file id, exported as `pid` for all/liveall gauges; undefined for this process's own store. */
  id?: string;
  /** Value slots to leave out (series removed in-process). */
  hidden?: ReadonlySet<number>;
}

/** What we remember of a source between scrapes: its entries never move, so only new ones are parsed. */
class SourceState {
  parsedUpTo = 0;
  /** Per parsed entry, two ints: the Float64 index of its value, and its series (-1: ignored, a type clash). Shared: never written. */
  entries: Int32Array = new Int32Array(0);
  /** Key bytes of the last parsed entry, re-checked at each scrape to catch a different file under the same identity. */
  lastKey: Buffer | undefined;
  lastKeyAt = 0;

  constructor(
    readonly identity: string,
    readonly rule: Merge,
  ) {}

  stillMatches(image: SourceImage): boolean {
    if (image.identity !== this.identity || image.used < this.parsedUpTo) return false;
    if (!this.lastKey) return true;
    return image.buf.compare(this.lastKey, 0, this.lastKey.length, this.lastKeyAt, this.lastKeyAt + this.lastKey.length) === 0;
  }

}

/**
 * Writers of one service hold the same series in the same order, so most
 * sources end up with identical entry lists: one copy serves them all (at
 * 64 writers x 10,000 series, 5 MB become 80 KB, and a cold scrape makes
 * two arrays instead of 128).
 */
class SharedEntryLists {
  private byHash = new Map<number, Int32Array[]>();
  private readonly hashes = new WeakMap<Int32Array, number>();

  /** An array equal to `data[0, length)`: a stored one, or a new copy that is stored. */
  intern(data: Int32Array, length: number): Int32Array {
    const hash = hashInts(data, length);
    const candidates = this.byHash.get(hash);
    if (candidates) {
      for (const candidate of candidates) if (sameInts(candidate, data, length)) return candidate;
    }
    const copy = data.slice(0, length);
    this.hashes.set(copy, hash);
    if (candidates) candidates.push(copy);
    else this.byHash.set(hash, [copy]);
    return copy;
  }

  /** Forgets every list but these (the ones sources still use). */
  retain(lists: Iterable<Int32Array>): void {
    const kept = new Map<number, Int32Array[]>();
    for (const list of lists) {
      const hash = this.hashes.get(list) ?? hashInts(list, list.length);
      const same = kept.get(hash);
      if (!same) kept.set(hash, [list]);
      else if (!same.includes(list)) same.push(list);
    }
    this.byHash = kept;
  }
}

function hashInts(data: Int32Array, length: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ data[i], 0x01000193);
  return h;
}

function sameInts(list: Int32Array, data: Int32Array, length: number): boolean {
  if (list.length !== length) return false;
  for (let i = 0; i < length; i++) if (list[i] !== data[i]) return false;
  return true;
}

/** One line of the exposition: a series, or a histogram's computed line. */
interface Line {
  sampleName: string;
  /** labelsKey() of its labels: its place in the exposition order, and its labels for collect(). */
  labelsKey: string;
  /** Where `name{labels} `, the start of its exposition line, is in the collector's line prefixes. */
  prefixStart: number;
  prefixEnd: number;
}

interface SeriesInfo extends Line {
  family: FamilyState;
}

interface HistogramGroup {
  /** Bucket series, by bound; each series is its bucket's line. */
  buckets: Array<{ series: number; bound: number }>;
  sum: number;
  sumLine: Line;
  countLine: Line;
}

/** The series of one sample name of a family, by labelsKey. */
interface SampleSeries {
  /** The sample name, kept once for all its series. */
  name: string;
  byLabels: Map<string, number>;
}

class FamilyState {
  readonly members: number[] = [];
  readonly samples = new Map<string, SampleSeries>();
  /** Set when members were added: the order and histogram groups are rebuilt at the next scrape. */
  dirty = true;
  ordered: number[] = [];
  groups: HistogramGroup[] = [];
  /** Histograms: the _sum and _count lines of each label set (without `le`). */
  readonly groupLines = new Map<string, [sum: Line, count: Line]>();

  constructor(
    readonly name: string,
    readonly type: MetricType,
    readonly help: string,
  ) {}
}

export interface ScrapeProblem {
  source: string;
  message: string;
}

/** A family exported beside the files' ones (the registry's own counter): no family of a file may take its names. */
export interface ReservedFamily {
  name: string;
  type: MetricType;
}

/**
 * How much of the collector's tables existed before an add(): what the add
 * made beyond it is undone when the source turns out bad, so a skipped file
 * leaves nothing behind: no family (with its type, HELP text and names), no
 * series.
 */
interface AddMark {
  keys: KeyTable;
  keyCount: number;
  seriesCount: number;
  linePrefixBytes: number;
  lineCount: number;
}

/**
 * The merging collector. It keeps, per source, the entries it has parsed
 * and, across sources, one series table: a scrape parses only entries that
 * are new since the last one (each distinct key once over all files), then
 * merges values into numeric slots and renders from cached label strings.
 */
export class IncrementalCollector {
  private readonly sources = new Map<string, SourceState>();
  private readonly families = new Map<string, FamilyState>();
  /** Every name the families' lines may carry, held by the family met first (and the reserved ones). */
  private readonly names = new ExposedNameClaims();
  /** `<type> <family>` of families whose entries are ignored (a type or name clash with a family met first): each is reported once. */
  private readonly rejected = new Set<string>();
  /** Families made and rejections made by the add() under way, undone if its source turns out bad. */
  private addedFamilies: FamilyState[] = [];
  private addedRejections: string[] = [];
  private readonly seriesByRawKey = new Map<string, KeyTable>();
  private readonly seriesInfo: SeriesInfo[] = [];
  private value = new Float64Array(1024);
  private timestamp = new Float64Array(1024);
  /** Scrape number in which a series was last seen; only those are exported. */
  private seenIn = new Uint32Array(1024);
  private scrape = 0;
  private parsed = new Int32Array(4096);
  private readonly entryLists = new SharedEntryLists();
  private readonly entry = newRawEntry();
  /** The `name{labels} ` of every line, as UTF-8. */
  private readonly linePrefixes = new TextWriter();
  private lineCount = 0;

  constructor(reserved: readonly ReservedFamily[] = []) {
    for (const family of reserved) this.names.claim(family.name, family.type);
  }

  /** The family that holds one of the names a family `name` of `type` would expose, if one does (for families served beside these). */
  nameHolder(name: string, type: MetricType): NameHolder | undefined {
    return this.names.holder(name, type);
  }

  /** Starts a scrape: sources added until the next begin() make up its result. */
  begin(): void {
    this.scrape++;
    // Scrape numbers only need to differ from the previous one's.
    if (this.scrape === 0xffffffff) {
      this.seenIn.fill(0);
      this.scrape = 1;
    }
  }

  /**
   * Parses what is new in `image` and merges its values. Throws
   * FileFormatError (and forgets the source) when the bytes are bad: the
   * caller skips the source for this scrape.
   */
  add(image: SourceImage): ScrapeProblem[] {
    const problems: ScrapeProblem[] = [];
    let state = this.sources.get(image.name);
    if (!state || !state.stillMatches(image)) {
      state = new SourceState(image.identity, MERGE[mergeRule(image.type, image.mode)]);
      this.sources.set(image.name, state);
    }
    if (image.used !== state.parsedUpTo) {
      const keys = this.keysOf(image, state);
      const mark: AddMark = {
        keys,
        keyCount: keys.size,
        seriesCount: this.seriesInfo.length,
        linePrefixBytes: this.linePrefixes.size,
        lineCount: this.lineCount,
      };
      this.addedFamilies = [];
      this.addedRejections = [];
      try {
        this.parseNew(state, image, keys, problems);
      } catch (err) {
        this.sources.delete(image.name);
        this.undo(mark);
        throw err;
      }
    }
    this.merge(state, image);
    return problems;
  }

  /** Raw keys are looked up per (type, source id for per-source gauges), so each lookup is one flat string. */
  private keysOf(image: SourceImage, state: SourceState): KeyTable {
    const scope = `${image.type}\u0000${state.rule === Merge.PerSource && image.id !== undefined ? image.id : ''}`;
    let keys = this.seriesByRawKey.get(scope);
    if (!keys) {
      keys = new KeyTable();
      this.seriesByRawKey.set(scope, keys);
    }
    return keys;
  }

  /** Takes back what the add() that made `mark` created. */
  private undo(mark: AddMark): void {
    mark.keys.truncate(mark.keyCount);
    for (let series = this.seriesInfo.length - 1; series >= mark.seriesCount; series--) {
      // A family's members are in series order: an add's new series are the last ones.
      const { family, sampleName, labelsKey: key } = this.seriesInfo[series];
      family.members.pop();
      family.dirty = true;
      const sample = family.samples.get(sampleName)!;
      sample.byLabels.delete(key);
      if (sample.byLabels.size === 0) family.samples.delete(sampleName);
    }
    this.seriesInfo.length = mark.seriesCount;
    this.linePrefixes.truncate(mark.linePrefixBytes);
    this.lineCount = mark.lineCount;
    for (const family of this.addedFamilies) {
      this.families.delete(family.name);
      this.names.release(family.name, family.type);
    }
    for (const rejection of this.addedRejections) this.rejected.delete(rejection);
  }

  /** Forgets sources not added since begin() with these names kept. */
  retainSources(names: ReadonlySet<string>): void {
    for (const name of this.sources.keys()) if (!names.has(name)) this.sources.delete(name);
    this.entryLists.retain([...this.sources.values()].map((source) => source.entries));
  }

  /** Parses the entries of `image` past those of `state`. Throws FileFormatError. */
  private parseNew(state: SourceState, image: SourceImage, keys: KeyTable, problems: ScrapeProblem[]): void {
    const { buf } = image;
    const used = checkedUsed(buf, image.used);
    const words = new Int32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
    const entry = this.entry;
    // The list is rebuilt whole (old entries, then new) and shared with sources that have the same.
    // Entries are 24 bytes at the least: this bounds how many can be new.
    const parsed = this.reserveParsed(state.entries.length + Math.ceil((used - state.parsedUpTo) / 24) * 2);
    parsed.set(state.entries);
    const known = state.entries.length >> 1;
    let count = known;
    let previous = -1;
    let reserved = false;
    for (let pos = Math.max(state.parsedUpTo, 8); pos < used; ) {
      pos = readEntry(buf, pos, used, entry);
      const { keyStart, keyEnd } = entry;
      let index = keys.guess(previous);
      if (index < 0 || !keys.matches(index, words, buf, keyStart, keyEnd)) {
        const hash = KeyTable.hash(words, buf, keyStart, keyEnd);
        index = keys.find(words, buf, keyStart, keyEnd, hash);
        if (index < 0) {
          if (!reserved) {
            // The rest of this file bounds what its new keys and line prefixes can take.
            keys.reserveKeyBytes(used - entry.offset);
            this.linePrefixes.reserve(used - entry.offset);
            reserved = true;
          }
          index = keys.add(words, buf, keyStart, keyEnd, hash, this.resolve(buf, keyStart, keyEnd, entry.offset, image, state, problems));
        }
        keys.follows(previous, index);
      }
      previous = index;
      parsed[count * 2] = entry.valueOffset >>> 3;
      parsed[count * 2 + 1] = keys.value(index);
      count++;
    }
    state.parsedUpTo = used;
    if (count === known) return;
    state.entries = this.entryLists.intern(parsed, count * 2);
    state.lastKey = Buffer.from(buf.subarray(entry.keyStart, entry.keyEnd));
    state.lastKeyAt = entry.keyStart;
  }

  /** The scratch array parseNew fills, reused over sources so each source allocates only its exact result. */
  private reserveParsed(length: number): Int32Array {
    if (this.parsed.length < length) this.parsed = new Int32Array(Math.max(length, this.parsed.length * 2));
    return this.parsed;
  }

  /** Finds or creates the series of a key seen for the first time; -1 for an ignored family. Throws FileFormatError for a bad key. */
  private resolve(buf: Buffer, keyStart: number, keyEnd: number, offset: number, image: SourceImage, state: SourceState, problems: ScrapeProblem[]): number {
    const key = decodeEntryKey(buf, keyStart, keyEnd, offset, image.type);
    const family = this.familyOf(key.family, key.help, image, problems);
    if (!family) return -1;
    let labels = key.labels;
    if (image.type === 'gauge') {
      if (state.rule === Merge.PerSource) {
        if (image.id !== undefined) labels = { ...labels, pid: image.id };
      } else if ('pid' in labels) {
        labels = { ...labels };
        delete labels.pid;
      }
    }
    let sample = family.samples.get(key.sampleName);
    if (!sample) {
      sample = { name: key.sampleName, byLabels: new Map() };
      family.samples.set(sample.name, sample);
    }
    const names = sortedNames(labels);
    const sortKey = labelsKey(labels, names);
    let series = sample.byLabels.get(sortKey);
    if (series === undefined) {
      series = this.seriesInfo.length;
      const prefixStart = this.addLinePrefix(sample.name, renderLabels(labels, names));
      // The labels object is not kept: collect() reads labels back from the key, and keeping
      // an object per series was a good part of what every garbage collection had to copy.
      const info: SeriesInfo = { family, sampleName: sample.name, labelsKey: sortKey, prefixStart, prefixEnd: this.linePrefixes.size };
      this.seriesInfo.push(info);
      sample.byLabels.set(sortKey, series);
      family.members.push(series);
      family.dirty = true;
      this.ensureCapacity(series + 1);
    }
    return series;
  }

  /**
   * The family of a key of `image`, made when met first; undefined when its
   * entries are ignored: another file has a family of that name and another
   * type, or a family met first holds one of the names it would expose.
   */
  private familyOf(name: string, help: string, image: SourceImage, problems: ScrapeProblem[]): FamilyState | undefined {
    const family = this.families.get(name);
    if (family?.type === image.type) return family;
    const rejection = `${image.type} ${name}`;
    if (this.rejected.has(rejection)) return undefined;
    let reason: string | undefined;
    if (family) {
      reason = `family ${name} is a ${image.type} here but a ${family.type} in another file`;
    } else {
      const holder = this.names.holder(name, image.type);
      if (holder) reason = `the ${image.type} family ${name} would expose ${holder.name}, a name of the ${holder.type} family ${holder.family} met first`;
    }
    if (reason !== undefined) {
      this.rejected.add(rejection);
      this.addedRejections.push(rejection);
      problems.push({ source: image.name, message: `${reason}; its entries are ignored` });
      return undefined;
    }
    const made = new FamilyState(name, image.type, help);
    this.families.set(name, made);
    this.names.claim(name, image.type);
    this.addedFamilies.push(made);
    return made;
  }

  /**
   * Stores a line prefix as bytes and returns where it starts (it ends at
   * linePrefixes.size). Kept as strings, tens of thousands of them made every
   * garbage collection copy them, and each scrape encoded them again.
   */
  private addLinePrefix(sampleName: string, renderedLabels: string): number {
    const start = this.linePrefixes.size;
    this.linePrefixes.text(`${sampleName}${renderedLabels} `);
    this.lineCount++;
    return start;
  }

  private line(sampleName: string, key: string, renderedLabels: string): Line {
    const prefixStart = this.addLinePrefix(sampleName, renderedLabels);
    return { sampleName, labelsKey: key, prefixStart, prefixEnd: this.linePrefixes.size };
  }

  private ensureCapacity(count: number): void {
    if (count <= this.value.length) return;
    let size = this.value.length;
    while (size < count) size *= 2;
    const grow = <T extends Float64Array | Uint32Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.value = grow(this.value, (n) => new Float64Array(n));
    this.timestamp = grow(this.timestamp, (n) => new Float64Array(n));
    this.seenIn = grow(this.seenIn, (n) => new Uint32Array(n));
  }

  private merge(state: SourceState, image: SourceImage): void {
    const values = new Float64Array(image.buf.buffer, image.buf.byteOffset, image.used >>> 3);
    const entries = state.entries;
    const count = entries.length >> 1;
    const rule = state.rule;
    const hidden = image.hidden && image.hidden.size > 0 ? image.hidden : undefined;
    const value = this.value;
    const timestamp = this.timestamp;
    const seenIn = this.seenIn;
    const scrape = this.scrape;
    for (let i = 0; i < count; i++) {
      const series = entries[i * 2 + 1];
      if (series < 0) continue;
      const slot = entries[i * 2];
      if (hidden?.has(slot)) continue;
      const v = values[slot];
      if (seenIn[series] !== scrape) {
        seenIn[series] = scrape;
        value[series] = v;
        timestamp[series] = rule === Merge.MostRecent ? values[slot + 1] : 1;
        continue;
      }
      switch (rule) {
        case Merge.Sum:
          value[series] += v;
          break;
        case Merge.Min:
          if (v < value[series]) value[series] = v;
          break;
        case Merge.Max:
          if (v > value[series]) value[series] = v;
          break;
        case Merge.MostRecent: {
          // A never-set entry (timestamp 0) is never chosen; on a tie the source read first wins.
          const t = values[slot + 1];
          if (t !== 0 && (timestamp[series] === 0 || t > timestamp[series])) {
            value[series] = v;
            timestamp[series] = t;
          }
          break;
        }
        default:
          value[series] = v;
      }
    }
  }

  /** Names of the families with a series in this scrape, sorted. */
  familyNames(): string[] {
    const names: string[] = [];
    for (const family of this.families.values()) {
      if (family.members.some((s) => this.seenIn[s] === this.scrape)) names.push(family.name);
    }
    return names.sort(compareText);
  }

  family(name: string): FamilyState | undefined {
    return this.families.get(name);
  }

  /** An upper bound of the bytes renderSamples() writes for all families (headers aside). */
  renderedSizeBound(): number {
    // Each line is a stored prefix and a value of at most 24 characters with its newline.
    return this.linePrefixes.size + this.lineCount * 25;
  }

  /** Calls `emit` for every sample of `family` in this scrape, in exposition order. */
  private forEachSample(family: FamilyState, emit: (line: Line, value: number) => void): void {
    if (family.dirty) this.plan(family);
    const { value, seenIn, scrape, seriesInfo } = this;
    if (family.type !== 'histogram') {
      const ordered = family.ordered;
      for (let i = 0; i < ordered.length; i++) {
        const s = ordered[i];
        // timestamp 0 marks a mostrecent series no source has set: not exported.
        if (seenIn[s] === scrape && this.timestamp[s] !== 0) emit(seriesInfo[s], value[s]);
      }
      return;
    }
    const groups = family.groups;
    for (let g = 0; g < groups.length; g++) {
      const { buckets, sum, sumLine, countLine } = groups[g];
      const sumSeen = sum >= 0 && seenIn[sum] === scrape;
      let anySeen = sumSeen;
      for (let b = 0; b < buckets.length && !anySeen; b++) anySeen = seenIn[buckets[b].series] === scrape;
      if (!anySeen) continue;
      let cumulative = 0;
      for (let b = 0; b < buckets.length; b++) {
        const series = buckets[b].series;
        if (seenIn[series] === scrape) cumulative += value[series];
        emit(seriesInfo[series], cumulative);
      }
      emit(sumLine, sumSeen ? value[sum] : 0);
      emit(countLine, cumulative);
    }
  }

  /** Writes the exposition lines of one family's samples. */
  renderSamples(family: FamilyState, out: TextWriter): void {
    this.forEachSample(family, (line, value) => {
      out.copy(this.linePrefixes, line.prefixStart, line.prefixEnd);
      out.valueLine(value);
    });
  }

  /** One family as plain objects (for JSON). */
  toFamily(family: FamilyState): Family {
    const samples: Sample[] = [];
    this.forEachSample(family, (line, value) => samples.push({ name: line.sampleName, labels: labelsFromKey(line.labelsKey), value }));
    return { name: family.name, type: family.type, help: family.help, samples };
  }

  /** Orders a family's series: by label set, then (summaries) _sum before _count; histograms by group and bound. */
  private plan(family: FamilyState): void {
    family.dirty = false;
    const infos = family.members.map((series) => ({ series, info: this.seriesInfo[series], key: this.seriesInfo[series].labelsKey }));
    if (family.type !== 'histogram') {
      const rank = (name: string): number => (name.endsWith('_count') ? 1 : 0);
      infos.sort((a, b) => compareText(a.key, b.key) || rank(a.info.sampleName) - rank(b.info.sampleName) || compareText(a.info.sampleName, b.info.sampleName));
      family.ordered = infos.map((i) => i.series);
      return;
    }
    const groups = new Map<string, HistogramGroup>();
    const sumName = `${family.name}_sum`;
    const countName = `${family.name}_count`;
    const bucketName = `${family.name}_bucket`;
    for (const { series, info } of infos) {
      const { le, ...labels } = labelsFromKey(info.labelsKey);
      const names = sortedNames(labels);
      const key = labelsKey(labels, names);
      let group = groups.get(key);
      if (!group) {
        // A group's _sum and _count lines are made once: plan() runs again whenever series are added.
        let lines = family.groupLines.get(key);
        if (!lines) {
          const rendered = renderLabels(labels, names);
          lines = [this.line(sumName, key, rendered), this.line(countName, key, rendered)];
          family.groupLines.set(key, lines);
        }
        group = { buckets: [], sum: -1, sumLine: lines[0], countLine: lines[1] };
        groups.set(key, group);
      }
      if (info.sampleName === sumName) group.sum = series;
      else if (info.sampleName === bucketName && le !== undefined) group.buckets.push({ series, bound: parseBound(le) });
    }
    family.groups = [...groups.entries()].sort((a, b) => compareText(a[0], b[0])).map(([, group]) => group);
    for (const group of family.groups) group.buckets.sort((a, b) => a.bound - b.bound);
  }
}


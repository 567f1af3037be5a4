import { formatPrometheusFloat, parseBound } from '../format/float.js';
import { decodeEntryKey } from '../format/key.js';
import { walkEntries } from '../format/layout.js';
import type { GaugeMode, MetricType } from '../format/names.js';
import { renderLabels } from './exposition.js';
import { compareText, labelsKey, type Family, type Sample } from './family.js';
import { KeyTable } from './key-table.js';

/** How the values of one series merge over sources (FORMAT.md, "What the collector exports"). */
const enum MergeRule {
  Sum,
  Min,
  Max,
  MostRecent,
  /** `all`/`liveall`: one series per source, told apart by the `pid` label. */
  PerSource,
}

function mergeRule(type: MetricType, mode: GaugeMode | undefined): MergeRule {
  if (type !== 'gauge') return MergeRule.Sum;
  switch (mode) {
    case 'min':
    case 'livemin':
      return MergeRule.Min;
    case 'max':
    case 'livemax':
      return MergeRule.Max;
    case 'mostrecent':
    case 'livemostrecent':
      return MergeRule.MostRecent;
    case 'sum':
    case 'livesum':
      return MergeRule.Sum;
    default:
      return MergeRule.PerSource;
  }
}

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

class GrowableInt32 {
  data = new Int32Array(64);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) this.reserve(this.length);
    this.data[this.length++] = value;
  }

  /** Gives back unused capacity (a file's entries are mostly parsed at once). */
  trim(): void {
    if (this.data.length > this.length + (this.length >> 3) + 64) this.data = this.data.slice(0, this.length + 64);
  }

  /** Makes room for `more` values past the current length. */
  reserve(more: number): void {
    if (this.length + more <= this.data.length) return;
    const next = new Int32Array(Math.max(this.length + more, this.data.length * 2));
    next.set(this.data);
    this.data = next;
  }
}

/** What we remember of a source between scrapes: its entries never move, so only new ones are parsed. */
class SourceState {
  parsedUpTo = 0;
  /** Float64 index of each entry's value. */
  readonly slots = new GrowableInt32();
  /** Series of each entry; -1 for entries ignored (type clash). */
  readonly series = new GrowableInt32();
  /** Key bytes of the last parsed entry, re-checked at each scrape to catch a different file under the same identity. */
  lastKey: Buffer | undefined;
  lastKeyAt = 0;

  constructor(
    readonly identity: string,
    readonly rule: MergeRule,
  ) {}

  stillMatches(image: SourceImage): boolean {
    if (image.identity !== this.identity || image.used < this.parsedUpTo) return false;
    if (!this.lastKey) return true;
    return image.buf.compare(this.lastKey, 0, this.lastKey.length, this.lastKeyAt, this.lastKeyAt + this.lastKey.length) === 0;
  }
}

interface SeriesInfo {
  family: FamilyState;
  sampleName: string;
  labels: Record<string, string>;
  /** labelsKey(labels), kept for ordering. */
  labelsKey: string;
  /** `name{labels} `: the start of its exposition line. */
  linePrefix: string;
}

interface HistogramGroup {
  labels: Record<string, string>;
  buckets: Array<{ series: number; le: string; bound: number; linePrefix: string }>;
  sum: number;
  sumPrefix: string;
  countPrefix: string;
}

class FamilyState {
  readonly members: number[] = [];
  /** Set when members were added: the order and histogram groups are rebuilt at the next scrape. */
  dirty = true;
  ordered: number[] = [];
  groups: HistogramGroup[] = [];

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

/**
 * The merging collector. It keeps, per source, the entries it has parsed
 * and, across sources, one series table: a scrape parses only entries that
 * are new since the last one (each distinct key once over all files), then
 * merges values into numeric slots and renders from cached label strings.
 */
export class IncrementalCollector {
  private readonly sources = new Map<string, SourceState>();
  private readonly families = new Map<string, FamilyState>();
  private readonly seriesByRawKey = new Map<string, KeyTable>();
  private readonly seriesByName = new Map<string, number>();
  private readonly seriesInfo: SeriesInfo[] = [];
  private value = new Float64Array(1024);
  private timestamp = new Float64Array(1024);
  /** Scrape number in which a series was last seen; only those are exported. */
  private seenIn = new Uint32Array(1024);
  private scrape = 0;

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
      state = new SourceState(image.identity, mergeRule(image.type, image.mode));
      this.sources.set(image.name, state);
    }
    try {
      this.parseNew(state, image, problems);
    } catch (err) {
      this.sources.delete(image.name);
      throw err;
    }
    this.merge(state, image);
    return problems;
  }

  /** Forgets sources not added since begin() with these names kept. */
  retainSources(names: ReadonlySet<string>): void {
    for (const name of this.sources.keys()) if (!names.has(name)) this.sources.delete(name);
  }

  private parseNew(state: SourceState, image: SourceImage, problems: ScrapeProblem[]): void {
    if (image.used === state.parsedUpTo) return;
    const { buf } = image;
    // Raw keys are looked up per (type, source id for per-source gauges), so each lookup is one flat string.
    const scope = `${image.type}\u0000${state.rule === MergeRule.PerSource && image.id !== undefined ? image.id : ''}`;
    let seriesByKey = this.seriesByRawKey.get(scope);
    if (!seriesByKey) {
      seriesByKey = new KeyTable();
      this.seriesByRawKey.set(scope, seriesByKey);
    }
    const words = new Int32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
    // Real keys make entries of 64 bytes and more: reserve once instead of doubling along.
    const expected = Math.ceil((image.used - state.parsedUpTo) / 64);
    state.slots.reserve(expected);
    state.series.reserve(expected);
    let lastStart = 0;
    let lastEnd = 0;
    walkEntries(
      buf,
      image.used,
      (entry) => {
        const hash = KeyTable.hash(words, buf, entry.keyStart, entry.keyEnd);
        let series = seriesByKey.get(words, buf, entry.keyStart, entry.keyEnd, hash);
        if (series === -1) {
          series = this.resolve(buf.subarray(entry.keyStart, entry.keyEnd), entry.offset, image, state, problems);
          seriesByKey.set(buf, entry.keyStart, entry.keyEnd, hash, series);
        }
        state.slots.push(entry.valueOffset >>> 3);
        state.series.push(series);
        lastStart = entry.keyStart;
        lastEnd = entry.keyEnd;
      },
      Math.max(state.parsedUpTo, 8),
    );
    state.parsedUpTo = image.used;
    state.slots.trim();
    state.series.trim();
    if (lastEnd > 0) {
      state.lastKey = Buffer.from(buf.subarray(lastStart, lastEnd));
      state.lastKeyAt = lastStart;
    }
  }

  /** Finds or creates the series of a key seen for the first time. */
  private resolve(keyBytes: Buffer, offset: number, image: SourceImage, state: SourceState, problems: ScrapeProblem[]): number {
    const key = decodeEntryKey(keyBytes, offset);
    let labels = key.labels;
    if (image.type === 'gauge') {
      if (state.rule === MergeRule.PerSource) {
        if (image.id !== undefined) labels = { ...labels, pid: image.id };
      } else if ('pid' in labels) {
        labels = { ...labels };
        delete labels.pid;
      }
    }
    let family = this.families.get(key.family);
    if (!family) {
      family = new FamilyState(key.family, image.type, key.help);
      this.families.set(key.family, family);
    } else if (family.type !== image.type) {
      problems.push({
        source: image.name,
        message: `family ${key.family} is a ${image.type} here but a ${family.type} in another file; its entries here are ignored`,
      });
      return -1;
    }
    const sortKey = labelsKey(labels);
    const name = `${key.family}\u0003${key.sampleName}\u0002${sortKey}`;
    let series = this.seriesByName.get(name);
    if (series === undefined) {
      series = this.seriesInfo.length;
      this.seriesInfo.push({ family, sampleName: key.sampleName, labels, labelsKey: sortKey, linePrefix: `${key.sampleName}${renderLabels(labels)} ` });
      this.seriesByName.set(name, series);
      family.members.push(series);
      family.dirty = true;
      this.ensureCapacity(series + 1);
    }
    return series;
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
    const slots = state.slots.data;
    const seriesOf = state.series.data;
    const count = state.series.length;
    const rule = state.rule;
    const hidden = image.hidden && image.hidden.size > 0 ? image.hidden : undefined;
    const value = this.value;
    const timestamp = this.timestamp;
    const seenIn = this.seenIn;
    const scrape = this.scrape;
    for (let i = 0; i < count; i++) {
      const series = seriesOf[i];
      if (series < 0) continue;
      const slot = slots[i];
      if (hidden?.has(slot)) continue;
      const v = values[slot];
      if (seenIn[series] !== scrape) {
        seenIn[series] = scrape;
        value[series] = v;
        timestamp[series] = rule === MergeRule.MostRecent ? values[slot + 1] : 1;
        continue;
      }
      switch (rule) {
        case MergeRule.Sum:
          value[series] += v;
          break;
        case MergeRule.Min:
          if (v < value[series]) value[series] = v;
          break;
        case MergeRule.Max:
          if (v > value[series]) value[series] = v;
          break;
        case MergeRule.MostRecent: {
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

  /** Calls `emit` for every sample of `family` in this scrape, in exposition order. */
  forEachSample(family: FamilyState, emit: (linePrefix: string, value: number, series: SeriesInfo | undefined, name: string, labels: Record<string, string>) => void): void {
    if (family.dirty) this.plan(family);
    const seen = (s: number): boolean => s >= 0 && this.seenIn[s] === this.scrape;
    if (family.type !== 'histogram') {
      for (const s of family.ordered) {
        // timestamp 0 marks a mostrecent series no source has set: not exported.
        if (seen(s) && this.timestamp[s] !== 0) {
          const info = this.seriesInfo[s];
          emit(info.linePrefix, this.value[s], info, info.sampleName, info.labels);
        }
      }
      return;
    }
    for (const group of family.groups) {
      if (!seen(group.sum) && !group.buckets.some((b) => seen(b.series))) continue;
      let cumulative = 0;
      for (const bucket of group.buckets) {
        if (seen(bucket.series)) cumulative += this.value[bucket.series];
        emit(bucket.linePrefix, cumulative, undefined, `${family.name}_bucket`, { ...group.labels, le: bucket.le });
      }
      emit(group.sumPrefix, seen(group.sum) ? this.value[group.sum] : 0, undefined, `${family.name}_sum`, group.labels);
      emit(group.countPrefix, cumulative, undefined, `${family.name}_count`, group.labels);
    }
  }

  /** The exposition lines of one family's samples. */
  renderSamples(family: FamilyState): string {
    let out = '';
    this.forEachSample(family, (prefix, value) => {
      out += prefix + formatPrometheusFloat(value) + '\n';
    });
    return out;
  }

  /** One family as plain objects (for JSON). */
  toFamily(family: FamilyState): Family {
    const samples: Sample[] = [];
    this.forEachSample(family, (_prefix, value, _info, name, labels) => samples.push({ name, labels, value }));
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
    for (const { series, info } of infos) {
      const { le, ...labels } = info.labels;
      const key = labelsKey(labels);
      let group = groups.get(key);
      if (!group) {
        const rendered = renderLabels(labels);
        group = { labels, buckets: [], sum: -1, sumPrefix: `${family.name}_sum${rendered} `, countPrefix: `${family.name}_count${rendered} ` };
        groups.set(key, group);
      }
      if (info.sampleName === `${family.name}_sum`) group.sum = series;
      else if (info.sampleName === `${family.name}_bucket` && le !== undefined) {
        group.buckets.push({ series, le, bound: parseBound(le), linePrefix: info.linePrefix });
      }
    }
    family.groups = [...groups.entries()].sort((a, b) => compareText(a[0], b[0])).map(([, group]) => group);
    for (const group of family.groups) group.buckets.sort((a, b) => a.bound - b.bound);
  }
}


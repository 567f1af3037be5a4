import { formatJavaScriptNumber, formatPrometheusFloat, parseBound } from '../format/float.js';
import type { NumberStyle } from './text-writer.js';
import type { DecodedKey } from '../format/key.js';
import type { MetricType } from '../format/names.js';
import { renderLabels } from './exposition.js';
import { ExposedNameClaims, type NameHolder } from './name-claims.js';
import { compareText } from '../format/names.js';
import { labelsKey, sortedNames } from './family.js';
import { FamilyState, type Line } from './family-state.js';
import { TextWriter } from './text-writer.js';

/**
 * The collector's table of everything it has met over all sources: the
 * families (first met wins a name), their series, and each series' merged
 * value, timestamp and the scrape it was last seen in, as numbered slots the
 * merge loop writes and the exposition reads.
 */

interface SeriesInfo extends Line {
  family: FamilyState;
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

/** How much of the table existed before a source was added: what the add made beyond it is undone when the source turns out bad. */
export interface TableMark {
  seriesCount: number;
  linePrefixBytes: number;
  lineCount: number;
}

export class SeriesTable {
  private readonly families = new Map<string, FamilyState>();
  /** Every name the families' lines may carry, held by the family met first (and the reserved ones). */
  private readonly names = new ExposedNameClaims();
  /** `<type> <family>` of families whose entries are ignored (a type or name clash with a family met first): each is reported once. */
  private readonly rejected = new Set<string>();
  /** Families made and rejections made since the last mark(), undone by undo(). */
  private addedFamilies: FamilyState[] = [];
  private addedRejections: string[] = [];
  readonly seriesInfo: SeriesInfo[] = [];
  value = new Float64Array(1024);
  timestamp = new Float64Array(1024);
  /** Scrape number in which a series was last seen; only those are exported. */
  seenIn = new Uint32Array(1024);
  /** Scrape number in which a file held a series' entry withdrawn (its writer removed the series). */
  withdrawnIn = new Uint32Array(1024);
  /** Scrape number in which a live writer's file held the series (not withdrawn); kept only in scrapes that know liveness. */
  heldLiveIn = new Uint32Array(1024);
  scrape = 0;
  /** The `name{labels} ` of every line, as UTF-8. */
  readonly linePrefixes = new TextWriter();
  private lineCount = 0;

  constructor(
    reserved: readonly ReservedFamily[] = [],
    /** How a bucket's `le` is written: `1.0` as Python's client, or `1` as prom-client (one series either way). */
    private readonly bounds: NumberStyle = 'python',
  ) {
    for (const family of reserved) this.names.claim(family.name, family.type);
  }

  /** The family that holds one of the names a family `name` of `type` would expose, if one does (for families served beside these). */
  nameHolder(name: string, type: MetricType): NameHolder | undefined {
    return this.names.holder(name, type);
  }

  /** Starts a scrape: series seen until the next begin() make up its result. */
  begin(): void {
    this.scrape++;
    // Scrape numbers only need to differ from the previous one's.
    if (this.scrape === 0xffffffff) {
      this.seenIn.fill(0);
      this.withdrawnIn.fill(0);
      this.heldLiveIn.fill(0);
      this.scrape = 1;
    }
  }

  /** Where the table stands now, for undo(). */
  mark(): TableMark {
    this.addedFamilies = [];
    this.addedRejections = [];
    return { seriesCount: this.seriesInfo.length, linePrefixBytes: this.linePrefixes.size, lineCount: this.lineCount };
  }

  /** Takes back every family, rejection and series made since `mark`: a skipped file leaves nothing behind. */
  undo(mark: TableMark): void {
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

  /**
   * Finds or creates the series of a key met for the first time in `source`,
   * a file of `type`; -1 for an ignored family. `pid`: the label that tells
   * a per-process gauge's series apart (undefined: none, and a `pid` label of
   * the key is dropped from a merged gauge).
   */
  resolve(key: DecodedKey, source: string, type: MetricType, perSource: boolean, pid: string | undefined, problems: ScrapeProblem[]): number {
    const family = this.familyOf(key.family, key.help, source, type, problems);
    if (!family) return -1;
    const { sampleName, labels } = this.seriesOf(key, type, perSource, pid);
    if (type === 'counter' && key.sampleName === key.family) family.bareCounter = true;
    let sample = family.samples.get(sampleName);
    if (!sample) {
      sample = { name: sampleName, byLabels: new Map() };
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
   * The series of a key if a file has made it, else -1: what exemplars
   * (an `.exdb` entry is keyed as its series' entry) attach to.
   */
  find(key: DecodedKey, type: MetricType): number {
    const family = this.families.get(key.family);
    if (family?.type !== type) return -1;
    const { sampleName, labels } = this.seriesOf(key, type, false, undefined);
    return family.samples.get(sampleName)?.byLabels.get(labelsKey(labels)) ?? -1;
  }

  /**
   * The sample name and labels of a key's series: one `le` spelling per
   * bound, a bare counter sample as `<family>_total` (one series with the
   * other), a per-process gauge's `pid` from its file (a merged gauge has none).
   */
  private seriesOf(key: DecodedKey, type: MetricType, perSource: boolean, pid: string | undefined): { sampleName: string; labels: Record<string, string> } {
    let labels = key.labels;
    if (type === 'histogram' && labels.le !== undefined) {
      const bound = parseBound(labels.le);
      labels = { ...labels, le: this.bounds === 'javascript' ? formatJavaScriptNumber(bound) : formatPrometheusFloat(bound) };
    }
    if (type === 'gauge') {
      if (perSource) {
        if (pid !== undefined) labels = { ...labels, pid };
      } else if ('pid' in labels) {
        labels = { ...labels };
        delete labels.pid;
      }
    }
    const sampleName = type === 'counter' && key.sampleName === key.family ? `${key.sampleName}_total` : key.sampleName;
    return { sampleName, labels };
  }

  /**
   * The family of a key of `source`, made when met first; undefined when its
   * entries are ignored: another file has a family of that name and another
   * type, or a family met first holds one of the names it would expose.
   */
  private familyOf(name: string, help: string, source: string, type: MetricType, problems: ScrapeProblem[]): FamilyState | undefined {
    const family = this.families.get(name);
    if (family?.type === type) return family;
    const rejection = `${type} ${name}`;
    if (this.rejected.has(rejection)) return undefined;
    let reason: string | undefined;
    if (family) {
      reason = `family ${name} is a ${type} here but a ${family.type} in another file`;
    } else {
      const holder = this.names.holder(name, type);
      if (holder) reason = `the ${type} family ${name} would expose ${holder.name}, a name of the ${holder.type} family ${holder.family} met first`;
    }
    if (reason !== undefined) {
      this.rejected.add(rejection);
      this.addedRejections.push(rejection);
      problems.push({ source, message: `${reason}; its entries are ignored` });
      return undefined;
    }
    const made = new FamilyState(name, type, help);
    this.families.set(name, made);
    this.names.claim(name, type);
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

  /** A line that is no series of its own (a histogram's _sum and _count of a label set). */
  line(sampleName: string, key: string, renderedLabels: string): Line {
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
    this.withdrawnIn = grow(this.withdrawnIn, (n) => new Uint32Array(n));
    this.heldLiveIn = grow(this.heldLiveIn, (n) => new Uint32Array(n));
  }

  /**
   * Series of this scrape that some file withdrew and another still holds:
   * whether they stay depends on whether a live writer holds them.
   */
  withdrawnButHeld(): boolean {
    const { seenIn, withdrawnIn, scrape } = this;
    for (let series = 0; series < this.seriesInfo.length; series++) if (withdrawnIn[series] === scrape && seenIn[series] === scrape) return true;
    return false;
  }

  /**
   * Takes out of this scrape every series that a file withdrew and no live
   * writer holds: what dead writers and compaction left of a removed series
   * (docs/format.md, "Withdrawn series"). Needs a scrape that knew liveness.
   */
  hideWithdrawn(): void {
    const { seenIn, withdrawnIn, heldLiveIn, scrape } = this;
    for (let series = 0; series < this.seriesInfo.length; series++) {
      if (withdrawnIn[series] === scrape && seenIn[series] === scrape && heldLiveIn[series] !== scrape) seenIn[series] = 0;
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

  /** An upper bound of the bytes the sample lines of all families take (headers aside). */
  renderedSizeBound(): number {
    // Each line is a stored prefix and a value of at most 24 characters with its newline.
    return this.linePrefixes.size + this.lineCount * 25;
  }
}

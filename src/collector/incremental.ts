import { decodeEntryKey } from '../format/key.js';
import { mergeRule, WITHDRAWN, type MergeRule } from '../format/merge.js';
import type { MetricType } from '../format/names.js';
import { renderSamples, toFamily } from './exposition-plan.js';
import type { Family } from './family.js';
import { KeyTable } from './key-table.js';
import type { NameHolder } from './name-claims.js';
import type { FamilyState } from './family-state.js';
import { SeriesTable, type ReservedFamily, type ScrapeProblem, type TableMark } from './series-table.js';
import { SourceState, type SourceImage } from './source-state.js';
import { EntryParser } from './entry-parser.js';
import { NativeTable } from './native-table.js';
import { ExemplarTable } from './exemplar-table.js';
import type { ExpositionFormat } from './exposition.js';
import { SummaryTable } from './summary-table.js';
import type { NumberStyle, TextWriter } from './text-writer.js';

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

/** What an add() undoes when its source turns out bad: the keys it added and what it made in the series table. */
interface AddMark {
  keys: KeyTable;
  keyCount: number;
  table: TableMark;
}

/**
 * The merging collector. It keeps, per source, the entries it has parsed
 * and, across sources, one series table: a scrape parses only entries that
 * are new since the last one (each distinct key once over all files), then
 * merges values into numeric slots and renders from cached label strings.
 */
export class IncrementalCollector {
  private readonly sources = new Map<string, SourceState>();
  private readonly seriesByRawKey = new Map<string, KeyTable>();
  private readonly table: SeriesTable;
  private readonly parser = new EntryParser();
  private readonly native = new NativeTable();
  private readonly exemplars: ExemplarTable;
  private readonly quantiles = new SummaryTable();

  constructor(reserved: readonly ReservedFamily[] = [], bounds: NumberStyle = 'python') {
    this.table = new SeriesTable(reserved, bounds);
    this.exemplars = new ExemplarTable(this.table);
  }

  /** The family that holds one of the names a family `name` of `type` would expose, if one does (for families served beside these). */
  nameHolder(name: string, type: MetricType): NameHolder | undefined {
    return this.table.nameHolder(name, type);
  }

  /** Whether this scrape met an entry its writer withdrew. */
  private withdrawnSeen = false;

  /** Starts a scrape: sources added until the next begin() make up its result. */
  begin(): void {
    this.table.begin();
    this.native.begin();
    this.quantiles.begin();
    this.exemplars.begin();
    this.withdrawnSeen = false;
  }

  /**
   * Whether this scrape holds a series that one file withdrew and another
   * still has: hiding it needs the sources added again with `live` known.
   */
  needsLiveness(): boolean {
    return this.withdrawnSeen && this.table.withdrawnButHeld();
  }

  /** Ends the adds of a scrape whose sources came with `live`: a withdrawn series no live writer holds is left out. */
  hideWithdrawn(): void {
    if (this.withdrawnSeen) this.table.hideWithdrawn();
  }

  /**
   * Parses what is new in `image` and merges its values. Throws
   * FileFormatError (and forgets the source) when the bytes are bad: the
   * caller skips the source for this scrape.
   */
  add(image: SourceImage): ScrapeProblem[] {
    const problems: ScrapeProblem[] = [];
    if (image.native) {
      if (image.type === 'summary') this.quantiles.add(image);
      else this.native.add(image);
      return problems;
    }
    if (image.exemplar) {
      this.exemplars.add(image);
      return problems;
    }
    let state = this.sources.get(image.name);
    if (!state || !state.stillMatches(image)) {
      state = new SourceState(image.identity, MERGE[mergeRule(image.type, image.mode)]);
      this.sources.set(image.name, state);
    }
    if (image.used !== state.parsedUpTo) {
      const keys = this.keysOf(image, state);
      const mark: AddMark = { keys, keyCount: keys.size, table: this.table.mark() };
      try {
        this.parser.parseNew(
          state,
          image,
          keys,
          (buf, keyStart, keyEnd, offset) => this.resolve(buf, keyStart, keyEnd, offset, image, state, problems),
          (bytes) => this.table.linePrefixes.reserve(bytes),
        );
      } catch (err) {
        this.sources.delete(image.name);
        mark.keys.truncate(mark.keyCount);
        this.table.undo(mark.table);
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

  /** Forgets sources not added since begin() with these names kept. */
  retainSources(names: ReadonlySet<string>): void {
    for (const name of this.sources.keys()) if (!names.has(name)) this.sources.delete(name);
    this.parser.retain(this.sources.values());
    this.native.retainSources(names);
    this.exemplars.retainSources(names);
    this.quantiles.retainSources(names);
  }

  /** Finds or creates the series of a key seen for the first time; -1 for an ignored family. Throws FileFormatError for a bad key. */
  private resolve(buf: Buffer, keyStart: number, keyEnd: number, offset: number, image: SourceImage, state: SourceState, problems: ScrapeProblem[]): number {
    const key = decodeEntryKey(buf, keyStart, keyEnd, offset, image.type);
    return this.table.resolve(key, image.name, image.type, state.rule === Merge.PerSource, image.id, problems);
  }

  private merge(state: SourceState, image: SourceImage): void {
    const values = new Float64Array(image.buf.buffer, image.buf.byteOffset, image.used >>> 3);
    const entries = state.entries;
    const count = entries.length >> 1;
    const rule = state.rule;
    const table = this.table;
    const value = table.value;
    const timestamp = table.timestamp;
    const seenIn = table.seenIn;
    const scrape = table.scrape;
    const live = image.live === true;
    const heldLiveIn = table.heldLiveIn;
    for (let i = 0; i < count; i++) {
      const series = entries[i * 2 + 1];
      if (series < 0) continue;
      const slot = entries[i * 2];
      if (values[slot + 1] === WITHDRAWN) {
        table.withdrawnIn[series] = scrape;
        this.withdrawnSeen = true;
        continue;
      }
      if (live) heldLiveIn[series] = scrape;
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
    return this.table.familyNames();
  }

  family(name: string): FamilyState | undefined {
    return this.table.family(name);
  }

  /** An upper bound of the bytes renderSamples() writes for all families (headers aside). */
  renderedSizeBound(): number {
    return this.table.renderedSizeBound();
  }

  /** Writes the exposition lines of one family's samples; in OpenMetrics with the series' latest exemplars. */
  renderSamples(family: FamilyState, out: TextWriter, bare = false, format: ExpositionFormat = 'prometheus'): void {
    renderSamples(this.table, family, out, bare, format === 'openmetrics' ? this.exemplars : undefined, this.quantiles);
  }

  /** One family as plain objects (for JSON, protobuf); a histogram's native part in `native`, exemplars on their samples, a summary's quantiles among them. */
  toFamily(family: FamilyState, bare = false): Family {
    return toFamily(this.table, family, bare, family.type === 'histogram' ? this.native : undefined, this.exemplars, this.quantiles);
  }
}

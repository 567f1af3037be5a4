import { decodeSummaryEntryKey } from '../format/key.js';
import { WITHDRAWN } from '../format/merge.js';
import { isStoredCount } from '../format/native-histogram.js';
import { SummaryBucketsBuilder, inWindow, windowEpoch, type SummaryBucket, type SummaryWindow } from '../format/summary-window.js';
import { labelsKey } from './family.js';
import { SidecarTable } from './sidecar-table.js';
import type { SourceState, SourceImage } from './source-state.js';

/**
 * The collector's side of summary quantiles: every entry met in the
 * summary sidecar files (`summary_<id>.nhdb`, each distinct key once), per
 * series its window (from the first `window` entry met: files are read in
 * name order) and its buckets. A bucket's count joins a scrape when its
 * epoch (the entry's timestamp) is in the window ending at the scrape's
 * epoch; in-window entries of one key from several files are of the same
 * epoch (one place of the ring holds one epoch per window), so they add up
 * (the smallest and largest observations: the least and greatest).
 * Quantiles are read off the sum when a series is exposed.
 */

interface EntryInfo {
  series: number;
  /** Undefined for the series' window entry. */
  bucket: SummaryBucket | undefined;
  /** How its values merge over files: added (counts), the smallest (min), the largest (max). */
  merge: Merge;
}

const enum Merge {
  Add,
  Min,
  Max,
}

interface SeriesState {
  key: string;
  window: SummaryWindow | undefined;
  /** The entry the window was taken from. */
  windowFrom: number;
  /** The entries of the series (bucket entries only). */
  buckets: number[];
  /** The scrape in which a live window entry of the series was met. */
  seenIn: number;
  /** The epoch of this scrape for the series' window, and the scrape it was computed for. */
  epoch: number;
  epochOf: number;
}

interface TableMark {
  entryCount: number;
  seriesCount: number;
}

/** One series' quantiles in a scrape. */
export interface SeriesQuantiles {
  percentiles: readonly number[];
  values: number[];
}

export class SummaryTable extends SidecarTable<TableMark> {
  private readonly infos: EntryInfo[] = [];
  private nowMs = 0;
  /** Series by `<family>\u0000<labelsKey>`. */
  private readonly seriesByKey = new Map<string, number>();
  private readonly series: SeriesState[] = [];

  /** Starts a scrape at the time `nowMs`: files added until the next begin() make up its result. */
  override begin(nowMs = Date.now()): void {
    this.nowMs = nowMs;
    super.begin();
  }

  protected override scrapesRestarted(): void {
    for (const series of this.series) series.seenIn = series.epochOf = 0;
  }

  /** The quantiles of one series in this scrape; undefined when no file of this scrape holds its window entry (live). */
  quantiles(family: string, seriesLabelsKey: string): SeriesQuantiles | undefined {
    const number = this.seriesByKey.get(`${family}\u0000${seriesLabelsKey}`);
    if (number === undefined) return undefined;
    const series = this.series[number];
    if (series.seenIn !== this.scrape || !series.window) return undefined;
    const builder = new SummaryBucketsBuilder(series.window, this.nowMs);
    for (const entry of series.buckets) if (this.seenIn[entry] === this.scrape) builder.addValue(this.infos[entry].bucket!, this.value[entry]);
    return { percentiles: series.window.percentiles, values: builder.quantiles() };
  }

  protected mark(): TableMark {
    return { entryCount: this.infos.length, seriesCount: this.series.length };
  }

  protected resolve(buf: Buffer, keyStart: number, keyEnd: number, offset: number): number {
    const key = decodeSummaryEntryKey(buf, keyStart, keyEnd, offset);
    const seriesKey = `${key.family}\u0000${labelsKey(key.labels)}`;
    let number = this.seriesByKey.get(seriesKey);
    if (number === undefined) {
      number = this.series.length;
      this.seriesByKey.set(seriesKey, number);
      this.series.push({ key: seriesKey, window: undefined, windowFrom: -1, buckets: [], seenIn: 0, epoch: 0, epochOf: 0 });
    }
    const series = this.series[number];
    const { entry } = key;
    const info = this.infos.length;
    if (entry.kind === 'window') {
      // Writers that declare a summary differently disagree: the window met first (files in name order) is the series'.
      if (!series.window) {
        series.window = { maxAgeSeconds: entry.maxAgeSeconds, ageBuckets: entry.ageBuckets, percentiles: entry.percentiles };
        series.windowFrom = info;
      }
      this.infos.push({ series: number, bucket: undefined, merge: Merge.Add });
    } else {
      this.infos.push({ series: number, bucket: entry, merge: entry.kind === 'min' ? Merge.Min : entry.kind === 'max' ? Merge.Max : Merge.Add });
      series.buckets.push(info);
    }
    this.makeRoom(info);
    return info;
  }

  /** Counts in the window add up over the files (a value that is no count, isStoredCount, as 0), extremes give the smallest and largest; a withdrawn entry (a series its writer removed) is left out. */
  protected merge(state: SourceState, image: SourceImage): void {
    const values = new Float64Array(image.buf.buffer, image.buf.byteOffset, image.used >>> 3);
    const entries = state.entries;
    const count = entries.length >> 1;
    const { value, seenIn, scrape, infos } = this;
    for (let i = 0; i < count; i++) {
      const number = entries[i * 2 + 1];
      const slot = entries[i * 2];
      const epoch = values[slot + 1];
      if (epoch === WITHDRAWN) continue;
      const info = infos[number];
      const series = this.series[info.series];
      if (info.bucket === undefined) {
        series.seenIn = scrape;
        continue;
      }
      const window = series.window;
      // A bucket before any window entry of its series: not a file our writers make; its counts cannot be placed.
      if (!window) continue;
      if (series.epochOf !== scrape) {
        series.epoch = windowEpoch(this.nowMs, window.maxAgeSeconds, window.ageBuckets);
        series.epochOf = scrape;
      }
      if (!inWindow(epoch, series.epoch, window.ageBuckets)) continue;
      const v = info.merge !== Merge.Add || isStoredCount(values[slot]) ? values[slot] : 0;
      if (seenIn[number] !== scrape) {
        seenIn[number] = scrape;
        value[number] = v;
      } else if (info.merge === Merge.Add) value[number] += v;
      else if (info.merge === Merge.Min ? v < value[number] : v > value[number]) value[number] = v;
    }
  }

  /** Takes back every entry and series made since `mark`. */
  protected undo(mark: TableMark): void {
    for (let entry = this.infos.length - 1; entry >= mark.entryCount; entry--) {
      const series = this.series[this.infos[entry].series];
      if (this.infos[entry].bucket !== undefined) series.buckets.pop();
      if (series.windowFrom === entry) series.window = undefined;
    }
    this.infos.length = mark.entryCount;
    for (let number = this.series.length - 1; number >= mark.seriesCount; number--) this.seriesByKey.delete(this.series[number].key);
    this.series.length = mark.seriesCount;
  }
}

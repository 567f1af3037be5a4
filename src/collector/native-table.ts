import { decodeNativeEntryKey } from '../format/key.js';
import { WITHDRAWN } from '../format/merge.js';
import { NativeHistogramBuilder, isStoredCount, type NativeHistogramData } from '../format/native-histogram.js';
import { labelsKey } from './family.js';
import { SidecarTable } from './sidecar-table.js';
import type { SourceState, SourceImage } from './source-state.js';

/**
 * The collector's side of native histograms: every bucket entry met in the
 * `.nhdb` files (each distinct key once), its count summed over the files
 * of a scrape, and per series (family and label set) the buckets it has.
 * A series' histogram is built only when asked for (protobuf exposition):
 * its buckets reduced to the lowest schema among those present in this
 * scrape, live, dead and accumulated files alike, then added
 * (NativeHistogramBuilder). Entries are never removed from a file and
 * compaction carries them (values and keys) into the accumulated file, so
 * the lowest schema present never rises while a series' counts last: what
 * Prometheus needs, since a rising schema is a counter reset to it.
 */

/** A bucket as the table numbers it: which series, which bucket. */
interface BucketInfo {
  series: number;
  /** 1, -1; 0 for the zero bucket. */
  sign: number;
  schema: number;
  index: number;
  threshold: number;
}

/** Where the table stood before a source was added: what the add made beyond it is undone when the source turns out bad. */
interface NativeMark {
  bucketCount: number;
  seriesCount: number;
}

export class NativeTable extends SidecarTable<NativeMark> {
  private readonly buckets: BucketInfo[] = [];
  /** Series by `<family>\u0000<labelsKey>`. */
  private readonly seriesByKey = new Map<string, number>();
  private readonly seriesKeys: string[] = [];
  /** Per series, its bucket numbers. */
  private readonly seriesBuckets: number[][] = [];

  /**
   * The native histogram of one series in this scrape, with `sum` (its
   * classic entries'); undefined when no file of this scrape has an entry of it.
   */
  histogram(family: string, seriesLabelsKey: string, sum: number): NativeHistogramData | undefined {
    const series = this.seriesByKey.get(`${family}\u0000${seriesLabelsKey}`);
    if (series === undefined) return undefined;
    const builder = new NativeHistogramBuilder();
    for (const bucket of this.seriesBuckets[series]) {
      if (this.seenIn[bucket] !== this.scrape) continue;
      const { sign, schema, index, threshold } = this.buckets[bucket];
      if (sign === 0) builder.addZero(schema, threshold, this.value[bucket]);
      else builder.addBucket(sign as 1 | -1, schema, index, this.value[bucket]);
    }
    return builder.build(sum);
  }

  protected mark(): NativeMark {
    return { bucketCount: this.buckets.length, seriesCount: this.seriesKeys.length };
  }

  protected resolve(buf: Buffer, keyStart: number, keyEnd: number, offset: number): number {
    const key = decodeNativeEntryKey(buf, keyStart, keyEnd, offset);
    const seriesKey = `${key.family}\u0000${labelsKey(key.labels)}`;
    let series = this.seriesByKey.get(seriesKey);
    if (series === undefined) {
      series = this.seriesKeys.length;
      this.seriesByKey.set(seriesKey, series);
      this.seriesKeys.push(seriesKey);
      this.seriesBuckets.push([]);
    }
    const { bucket } = key;
    const number = this.buckets.length;
    this.buckets.push(
      bucket.kind === 'zero'
        ? { series, sign: 0, schema: bucket.schema, index: 0, threshold: bucket.threshold }
        : { series, sign: bucket.kind === 'positive' ? 1 : -1, schema: bucket.schema, index: bucket.index, threshold: 0 },
    );
    this.seriesBuckets[series].push(number);
    this.makeRoom(number);
    return number;
  }

  /** Counts are counters: summed over the files, a withdrawn entry (a series its writer removed) left out, a value that is no count (isStoredCount) taken as 0. */
  protected merge(state: SourceState, image: SourceImage): void {
    const values = new Float64Array(image.buf.buffer, image.buf.byteOffset, image.used >>> 3);
    const entries = state.entries;
    const count = entries.length >> 1;
    const { value, seenIn, scrape } = this;
    for (let i = 0; i < count; i++) {
      const bucket = entries[i * 2 + 1];
      const slot = entries[i * 2];
      if (values[slot + 1] === WITHDRAWN) continue;
      const count = isStoredCount(values[slot]) ? values[slot] : 0;
      if (seenIn[bucket] !== scrape) {
        seenIn[bucket] = scrape;
        value[bucket] = count;
      } else value[bucket] += count;
    }
  }

  /** Takes back every bucket and series made since `mark`. */
  protected undo(mark: NativeMark): void {
    for (let bucket = this.buckets.length - 1; bucket >= mark.bucketCount; bucket--) this.seriesBuckets[this.buckets[bucket].series].pop();
    this.buckets.length = mark.bucketCount;
    for (let series = this.seriesKeys.length - 1; series >= mark.seriesCount; series--) this.seriesByKey.delete(this.seriesKeys[series]);
    this.seriesKeys.length = mark.seriesCount;
    this.seriesBuckets.length = mark.seriesCount;
  }
}

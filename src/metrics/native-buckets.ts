import { WITHDRAWN } from '../format/merge.js';
import {
  MAX_SCHEMA,
  MIN_SCHEMA,
  NativeHistogramBuilder,
  finestIndex,
  nativeBucketName,
  reduceIndex,
  type NativeBucket,
  type NativeHistogramData,
} from '../format/native-histogram.js';
import type { Region } from '../storage/entry-file.js';
import type { SeriesStore, SlotOwner } from '../storage/series-store.js';

// Local bindings of the hot path's functions: some builds (esbuild's CommonJS, as tsx runs the
// sources) turn every call through an import into a getter call that is not inlined.
const indexOf = finestIndex;
const reduced = reduceIndex;

/**
 * The native (exponential) buckets of one histogram child: one entry per
 * bucket that has counted, in the metric's native store (this process's
 * `histogram_<id>.nhdb`, or memory), keyed by schema and index
 * (docs/format.md). Entries are counters that only grow: lowering the
 * schema, when the buckets grow too many, moves no count. The writer goes
 * on in new entries at the lower schema and leaves the old ones as they are;
 * the collector reduces every entry of a series to the lowest schema present
 * and adds (format/native-histogram.ts), so no scrape can see a count
 * moved twice or not at all.
 */

/** A histogram's native options, checked. */
export interface NativeSettings {
  /** The schema every series starts at (from nativeHistogramBucketFactor). */
  schema: number;
  zeroThreshold: number;
  /** Buckets (both signs) a series may hold before its schema is lowered; 0: no limit. */
  maxBuckets: number;
  /** Milliseconds after which a series that reaches maxBuckets is reset instead; 0: never. */
  minResetMs: number;
}

/** One bucket's entry. */
class BucketEntry implements SlotOwner {
  region!: Region;
  slot = 0;

  constructor(
    private readonly owner: NativeBuckets,
    /** 1, -1; 0 for the zero bucket. */
    readonly sign: number,
    readonly schema: number,
    readonly index: number,
  ) {}

  rebind(region: Region, slots: readonly number[]): void {
    this.region = region;
    this.slot = slots[0];
    this.owner.moved(this);
  }
}

/**
 * The widest index range a window covers (16 KB of slots): at schema 8 that
 * is 16 powers of two; indexes beyond it are found through the map.
 */
const MAX_WINDOW = 4096;

/**
 * The fast path's lookup of bucket entries by index: slots (in one region)
 * of the indexes base.. base + slots.length - 1, 0 where none is cached, in
 * a window that widens as indexes are met, up to MAX_WINDOW. What native
 * histograms and summary quantiles (summary-buckets.ts) count through.
 */
export class IndexSlotCache {
  base = 0;
  slots = new Int32Array(0);

  clear(): void {
    this.base = 0;
    this.slots = new Int32Array(0);
  }

  /** Remembers the slot of `index`, widening the window if that keeps it under MAX_WINDOW. */
  cache(index: number, slot: number): void {
    let offset = index - this.base;
    if (offset < 0 || offset >= this.slots.length) {
      const low = this.slots.length === 0 ? index : Math.min(this.base, index);
      const high = this.slots.length === 0 ? index : Math.max(this.base + this.slots.length - 1, index);
      if (high - low + 1 > MAX_WINDOW) return;
      // Room on both sides, so that neighbouring buckets do not each widen it again.
      const length = Math.min(MAX_WINDOW, Math.max(16, 2 ** Math.ceil(Math.log2((high - low + 1) * 2))));
      const base = Math.max(low - ((length - (high - low + 1)) >> 1), high - length + 1);
      const slots = new Int32Array(length);
      for (let i = 0; i < this.slots.length; i++) if (this.slots[i] !== 0) slots[this.base + i - base] = this.slots[i];
      this.base = base;
      this.slots = slots;
      offset = index - base;
    }
    this.slots[offset] = slot;
  }

  uncache(index: number): void {
    const offset = index - this.base;
    if (offset >= 0 && offset < this.slots.length) this.slots[offset] = 0;
  }
}

/** The buckets of one sign at the current schema. */
class SignBuckets extends IndexSlotCache {
  readonly entries = new Map<number, BucketEntry>();
  /** Indexes at the current schema that hold counts: this schema's entries and those older entries reduce to. */
  populated = new Set<number>();

  constructor(readonly sign: 1 | -1) {
    super();
  }

  override clear(): void {
    super.clear();
    this.entries.clear();
    this.populated = new Set();
  }
}

export class NativeBuckets {
  /** The region of the zero bucket's entry: the fast path counts in it. */
  private home!: Region;
  private zero: BucketEntry;
  private schema: number;
  /** MAX_SCHEMA - schema: how far a schema-8 index is reduced. */
  private shift: number;
  private readonly positive = new SignBuckets(1);
  private readonly negative = new SignBuckets(-1);
  /** Every bucket entry this series counts in, of every schema it was at (the zero bucket's too). */
  private entries: BucketEntry[] = [];
  private lastReset = Date.now();
  private readonly threshold: number;

  constructor(
    private readonly settings: NativeSettings,
    private readonly store: SeriesStore,
    /** The key of a bucket's entry, from its name. */
    private readonly keyOf: (bucketName: string) => string,
  ) {
    this.schema = settings.schema;
    this.shift = MAX_SCHEMA - settings.schema;
    this.threshold = settings.zeroThreshold;
    // The zero bucket's entry is made at once: it says that the series is native, at which schema it starts, and its threshold.
    this.zero = this.allocate({ kind: 'zero', schema: settings.schema, threshold: settings.zeroThreshold }, 0, settings.schema, 0);
  }

  /**
   * Counts `value` (finite). Returns true, having counted nothing, when the
   * series had to be reset (nativeHistogramMinResetDuration): the caller
   * resets its classic part, then counts the value again. One path for both
   * signs: V8 inlines it whole, and a call it did not inline would box the
   * value (an allocation per observation).
   */
  observe(value: number): boolean {
    const negative = value < 0;
    const magnitude = negative ? -value : value;
    if (magnitude <= this.threshold) {
      this.home.values[this.zero.slot] += 1;
      return false;
    }
    const side = negative ? this.negative : this.positive;
    const index = reduced(indexOf(magnitude), this.shift);
    const offset = index - side.base;
    if (offset >= 0 && offset < side.slots.length) {
      const slot = side.slots[offset];
      if (slot !== 0) {
        this.home.values[slot] += 1;
        return false;
      }
    }
    return this.countSlowly(side, index, magnitude);
  }

  /** A bucket not in the window: found in the map, or made (lowering the schema, or resetting, when the buckets are too many). */
  private countSlowly(side: SignBuckets, index: number, magnitude: number): boolean {
    let entry = side.entries.get(index);
    if (!entry) {
      const { maxBuckets, minResetMs } = this.settings;
      if (maxBuckets > 0 && !side.populated.has(index) && this.positive.populated.size + this.negative.populated.size >= maxBuckets) {
        if (minResetMs > 0 && Date.now() - this.lastReset >= minResetMs) {
          this.withdraw();
          this.restore();
          return true;
        }
        if (this.schema > MIN_SCHEMA) {
          this.lowerSchema();
          return this.observe(side.sign * magnitude);
        }
      }
      const bucket: NativeBucket = { kind: side.sign === 1 ? 'positive' : 'negative', schema: this.schema, index };
      entry = this.allocate(bucket, side.sign, this.schema, index);
    }
    entry.region.values[entry.slot] += 1;
    return false;
  }

  /** Halves the resolution: new counts go to new entries at schema - 1, and what older entries hold counts as theirs. */
  private lowerSchema(): void {
    this.schema--;
    this.shift++;
    for (const side of [this.positive, this.negative]) {
      const populated = new Set<number>();
      for (const index of side.populated) populated.add(reduceIndex(index, 1));
      side.clear();
      side.populated = populated;
    }
  }

  private allocate(bucket: NativeBucket, sign: number, schema: number, index: number): BucketEntry {
    const entry = new BucketEntry(this, sign, schema, index);
    this.entries.push(entry);
    if (sign !== 0) {
      const side = sign === 1 ? this.positive : this.negative;
      side.entries.set(index, entry);
      side.populated.add(index);
    }
    const { region, slots } = this.store.allocate([this.keyOf(nativeBucketName(bucket))], entry);
    entry.rebind(region, slots);
    // An entry this series withdrew before (or an earlier life of this process) is counted in again.
    if (region.values[entry.slot + 1] === WITHDRAWN) region.values[entry.slot + 1] = 0;
    return entry;
  }

  /** Called when `entry` is bound to a region: at first, and when the store moves it (memory to file). */
  moved(entry: BucketEntry): void {
    if (entry === this.zero || this.zero === undefined) {
      this.home = entry.region;
      for (const side of [this.positive, this.negative]) {
        side.slots.fill(0);
        for (const other of side.entries.values()) if (other.region === this.home) side.cache(other.index, other.slot);
      }
      return;
    }
    if (entry.schema !== this.schema) return;
    const side = entry.sign === 1 ? this.positive : this.negative;
    if (side.entries.get(entry.index) !== entry) return;
    if (entry.region === this.home) side.cache(entry.index, entry.slot);
    else side.uncache(entry.index);
  }

  /** The series merged over its entries (as a scrape merges processes), with `sum` from the classic entries. */
  data(sum: number): NativeHistogramData {
    const builder = new NativeHistogramBuilder();
    for (const entry of this.entries) {
      const values = entry.region.values;
      if (values[entry.slot + 1] === WITHDRAWN) continue;
      const count = values[entry.slot];
      if (entry.sign === 0) builder.addZero(entry.schema, this.settings.zeroThreshold, count);
      else builder.addBucket(entry.sign as 1 | -1, entry.schema, entry.index, count);
    }
    return builder.build(sum) ?? { schema: this.schema, zeroThreshold: this.settings.zeroThreshold, zeroCount: 0, sum, count: 0, positive: [], negative: [] };
  }

  /** Every count to 0; the entries stay (and with them the schema). */
  zeroCounts(): void {
    for (const entry of this.entries) entry.region.values[entry.slot] = 0;
  }

  /**
   * Takes the series out of every scrape (its entries withdrawn) and starts
   * it afresh at its first schema: a withdrawn series is a new one when it
   * comes back, and entries it meets again are counted in again.
   */
  withdraw(): void {
    for (const entry of this.entries) {
      entry.region.values[entry.slot] = 0;
      entry.region.values[entry.slot + 1] = WITHDRAWN;
    }
    this.entries = [this.zero];
    this.positive.clear();
    this.negative.clear();
    this.schema = this.settings.schema;
    this.shift = MAX_SCHEMA - this.schema;
    this.lastReset = Date.now();
  }

  /** Undoes withdraw() for a series made again: its zero bucket says it is there. */
  restore(): void {
    const values = this.zero.region.values;
    if (values[this.zero.slot + 1] === WITHDRAWN) values[this.zero.slot + 1] = 0;
  }
}

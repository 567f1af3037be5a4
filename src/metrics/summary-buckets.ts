import { WITHDRAWN } from '../format/merge.js';
import { MAX_SCHEMA, finestIndex, reduceIndex } from '../format/native-histogram.js';
import {
  SUMMARY_SCHEMA,
  SUMMARY_ZERO_THRESHOLD,
  SummaryBucketsBuilder,
  summaryEntryName,
  windowEpoch,
  type SummaryEntry,
  type SummaryWindow,
} from '../format/summary-window.js';
import type { Region } from '../storage/entry-file.js';
import type { SeriesStore, SlotOwner } from '../storage/series-store.js';
import { IndexSlotCache } from './native-buckets.js';

// Local bindings of the hot path's functions (see native-buckets.ts: esbuild's CommonJS turns an imported call into a getter call).
const indexOf = finestIndex;
const reduced = reduceIndex;
/** How far a schema-8 index is reduced to the summary schema. */
const SHIFT = MAX_SCHEMA - SUMMARY_SCHEMA;
/** Local for the same reason: an imported constant is a getter call there too. */
const ZERO_THRESHOLD = SUMMARY_ZERO_THRESHOLD;
/**
 * The value observe() hands to its slow path: a double passed as an
 * argument to a call V8 does not inline is boxed (a heap number).
 */
const handedOver = new Float64Array(1);

/**
 * The quantile buckets of one summary child in multiprocess mode, in the
 * metric's summary sidecar store (this process's `summary_<id>.nhdb`,
 * docs/format.md): log buckets of the fixed SUMMARY_SCHEMA, which add up
 * across processes, in a ring of `ageBuckets` places (one without a window).
 *
 * Every bucket entry holds its count and, in its timestamp, the epoch
 * (format/summary-window.ts) that count belongs to. An observation goes to
 * the place of the current epoch; an entry there that still holds an older
 * epoch is from a turn of the ring ago (out of every window), so it is set
 * to 0, then to the new epoch, then counted. A reader copies the value
 * before the timestamp, so a copy taken during the move can pair the old
 * count with the new epoch: one scrape counts that entry's count of a ring
 * turn ago (docs/format.md). Entries nobody counts in again keep their old epoch,
 * which every reader leaves out once it has aged out of the window: no
 * rotation rewrites anything.
 */

/**
 * The current epoch of one window length, for every summary of that
 * length: a field the hot path reads, set again by an unreferenced timer at
 * each epoch's end. Reading the clock in observe() would cost a heap number
 * per call (Date.now() in Node 20) and about 90 ns; the price of the timer
 * is that an observation made while the event loop is blocked past an
 * epoch's end counts in the epoch the block began in.
 */
export class EpochClock {
  epoch = 0;

  private constructor(
    private readonly maxAgeSeconds: number,
    private readonly ageBuckets: number,
  ) {
    if (ageBuckets > 0) this.tick();
  }

  private static readonly clocks = new Map<string, EpochClock>();

  /** The clock of summaries without a window: epoch 0 for ever (one class of clock keeps observe() monomorphic). */
  static readonly none = new EpochClock(0, 0);

  static of(maxAgeSeconds: number, ageBuckets: number): EpochClock {
    const key = `${maxAgeSeconds}:${ageBuckets}`;
    let clock = EpochClock.clocks.get(key);
    if (!clock) EpochClock.clocks.set(key, (clock = new EpochClock(maxAgeSeconds, ageBuckets)));
    return clock;
  }

  private readonly tick = (): void => {
    const now = Date.now();
    this.epoch = windowEpoch(now, this.maxAgeSeconds, this.ageBuckets);
    const periodMs = (this.maxAgeSeconds * 1000) / this.ageBuckets;
    const untilNext = (this.epoch + 1) * periodMs - now;
    setTimeout(this.tick, Math.max(1, Math.ceil(untilNext))).unref();
  };
}

/** One entry: the window entry, or a bucket of one place of the ring. */
class SummaryEntryOwner implements SlotOwner {
  region!: Region;
  slot = 0;

  constructor(
    private readonly owner: SummaryBuckets,
    readonly entry: SummaryEntry,
  ) {}

  rebind(region: Region, slots: readonly number[]): void {
    this.region = region;
    this.slot = slots[0];
    this.owner.moved(this);
  }
}

/** The bucket entries of one sign in one place of the ring. */
class RingSide extends IndexSlotCache {
  readonly entries = new Map<number, SummaryEntryOwner>();
}

export class SummaryBuckets {
  /** The region of the window entry: the fast path counts in it. */
  private home!: Region;
  private readonly windowEntry: SummaryEntryOwner;
  /** Places in the ring: ageBuckets, or 1 without a window. */
  private readonly span: number;
  /** EpochClock.none without a window: every count is of epoch 0. */
  private readonly clock: EpochClock;
  /** Per place of the ring, the home slot of its zero bucket (0: none cached). */
  private readonly zeroSlots: Int32Array;
  private readonly zeroEntries: Array<SummaryEntryOwner | undefined>;
  /** Per place of the ring, the home slots of its smallest and largest observation (0: none cached). */
  private readonly minSlots: Int32Array;
  private readonly maxSlots: Int32Array;
  private readonly extremeEntries: Array<[min: SummaryEntryOwner, max: SummaryEntryOwner] | undefined>;
  private readonly positive: RingSide[] = [];
  private readonly negative: RingSide[] = [];
  /** Every entry of this series, the window entry first. */
  private readonly entries: SummaryEntryOwner[] = [];

  constructor(
    private readonly window: SummaryWindow,
    private readonly store: SeriesStore,
    /** The key of an entry, from its name. */
    private readonly keyOf: (entryName: string) => string,
  ) {
    this.span = window.ageBuckets > 0 ? window.ageBuckets : 1;
    this.clock = window.ageBuckets > 0 ? EpochClock.of(window.maxAgeSeconds, window.ageBuckets) : EpochClock.none;
    this.zeroSlots = new Int32Array(this.span);
    this.zeroEntries = new Array<SummaryEntryOwner | undefined>(this.span).fill(undefined);
    this.minSlots = new Int32Array(this.span);
    this.maxSlots = new Int32Array(this.span);
    this.extremeEntries = new Array<[SummaryEntryOwner, SummaryEntryOwner] | undefined>(this.span).fill(undefined);
    for (let ring = 0; ring < this.span; ring++) {
      this.positive.push(new RingSide());
      this.negative.push(new RingSide());
    }
    // Made at once and first in the file: a reader meets it before any bucket of the series.
    this.windowEntry = this.allocate({ kind: 'window', ...window });
  }

  /**
   * Counts `value` (finite) in the place of the current epoch. No allocation:
   * this is the hot path. The smallest and largest observation are recorded
   * before the count, so a reader that sees the count sees them (read after
   * it) or finds them in another bucket and leaves them out (read before).
   * Written for size: V8 must inline it whole into the caller's loop, within
   * its budget, or the call boxes `value` (an allocation per observation).
   */
  observe(value: number): void {
    const epoch = this.clock.epoch;
    // ringSlot(epoch) for an epoch >= 0, written out: a call costs the inlining budget.
    const ring = epoch % this.span;
    const low = this.minSlots[ring];
    const high = this.maxSlots[ring];
    const magnitude = value < 0 ? -value : value;
    let slot = 0;
    if (magnitude <= ZERO_THRESHOLD) slot = this.zeroSlots[ring];
    else {
      const side = value < 0 ? this.negative[ring] : this.positive[ring];
      const offset = reduced(indexOf(magnitude), SHIFT) - side.base;
      if (offset >= 0 && offset < side.slots.length) slot = side.slots[offset];
    }
    if (slot === 0 || low === 0 || high === 0) {
      handedOver[0] = value;
      this.observeSlowly(ring, epoch);
      return;
    }
    const values = this.home.values;
    // Another epoch's extreme is replaced: the value first, then the epoch.
    if (values[low + 1] !== epoch || value < values[low]) {
      values[low] = value;
      values[low + 1] = epoch;
    }
    if (values[high + 1] !== epoch || value > values[high]) {
      values[high] = value;
      values[high + 1] = epoch;
    }
    // Another epoch's count is from a turn of the ring ago: 0 first, then the epoch, then the count.
    if (values[slot + 1] !== epoch) {
      values[slot] = 0;
      values[slot + 1] = epoch;
    }
    values[slot] += 1;
  }

  /** observe() of handedOver[0] when an entry it needs is not cached in the home region: found, or made. */
  private observeSlowly(ring: number, epoch: number): void {
    const value = handedOver[0];
    const extremes = (this.extremeEntries[ring] ??= [this.allocate({ kind: 'min', ring }), this.allocate({ kind: 'max', ring })]);
    for (let i = 0; i < 2; i++) {
      const owner = extremes[i];
      const values = owner.region.values;
      if (values[owner.slot + 1] !== epoch || (i === 0 ? value < values[owner.slot] : value > values[owner.slot])) {
        values[owner.slot] = value;
        values[owner.slot + 1] = epoch;
      }
    }
    let owner: SummaryEntryOwner | undefined;
    const magnitude = Math.abs(value);
    if (magnitude <= ZERO_THRESHOLD) owner = this.zeroEntries[ring] ??= this.allocate({ kind: 'zero', ring });
    else {
      const index = reduced(indexOf(magnitude), SHIFT);
      const side = value < 0 ? this.negative[ring] : this.positive[ring];
      owner = side.entries.get(index) ?? this.allocate({ kind: value < 0 ? 'negative' : 'positive', ring, index });
    }
    const values = owner.region.values;
    if (values[owner.slot + 1] !== epoch) {
      values[owner.slot] = 0;
      values[owner.slot + 1] = epoch;
    }
    values[owner.slot] += 1;
  }

  private allocate(entry: SummaryEntry): SummaryEntryOwner {
    const owner = new SummaryEntryOwner(this, entry);
    this.entries.push(owner);
    if (entry.kind === 'positive' || entry.kind === 'negative') (entry.kind === 'positive' ? this.positive : this.negative)[entry.ring].entries.set(entry.index, owner);
    const { region, slots } = this.store.allocate([this.keyOf(summaryEntryName(entry))], owner);
    owner.rebind(region, slots);
    // A withdrawn window entry (this series removed before, or an earlier life of this process) says the series is back.
    if (entry.kind === 'window' && region.values[owner.slot + 1] === WITHDRAWN) region.values[owner.slot + 1] = 0;
    // A new extreme's entry (0 of epoch 0) holds no observation: marked so, the first one replaces it whatever the epoch.
    if ((entry.kind === 'min' || entry.kind === 'max') && region.values[owner.slot] === 0 && region.values[owner.slot + 1] === 0) region.values[owner.slot + 1] = WITHDRAWN;
    return owner;
  }

  /** Called when an entry is bound to a region: at first, and when the store moves it (memory to file). */
  moved(owner: SummaryEntryOwner): void {
    if (owner.entry.kind === 'window') {
      this.home = owner.region;
      for (const other of this.entries) if (other !== owner) this.recache(other);
      return;
    }
    if (this.home !== undefined) this.recache(owner);
  }

  private recache(owner: SummaryEntryOwner): void {
    const { entry } = owner;
    const home = owner.region === this.home;
    if (entry.kind === 'zero') this.zeroSlots[entry.ring] = home ? owner.slot : 0;
    else if (entry.kind === 'min') this.minSlots[entry.ring] = home ? owner.slot : 0;
    else if (entry.kind === 'max') this.maxSlots[entry.ring] = home ? owner.slot : 0;
    else if (entry.kind === 'positive' || entry.kind === 'negative') {
      const side = (entry.kind === 'positive' ? this.positive : this.negative)[entry.ring];
      if (home) side.cache(entry.index, owner.slot);
      else side.uncache(entry.index);
    }
  }

  /** This process's quantiles of the window that ends at `nowMs`, each of window.percentiles. */
  quantiles(nowMs: number): number[] {
    return this.builder(nowMs).quantiles();
  }

  /** How many observations of this process the window that ends at `nowMs` holds. */
  countInWindow(nowMs: number): number {
    return this.builder(nowMs).build().count;
  }

  private builder(nowMs: number): SummaryBucketsBuilder {
    const builder = new SummaryBucketsBuilder(this.window, nowMs);
    for (const owner of this.entries) {
      const { entry } = owner;
      if (entry.kind === 'window') continue;
      const values = owner.region.values;
      builder.add(entry, values[owner.slot], values[owner.slot + 1]);
    }
    return builder;
  }

  /** Every count to 0, the extremes to none (prom-client's reset(): the window empty, the series kept). */
  zeroCounts(): void {
    for (const owner of this.entries) {
      const { kind } = owner.entry;
      if (kind === 'min' || kind === 'max') owner.region.values[owner.slot + 1] = WITHDRAWN;
      else if (kind !== 'window') owner.region.values[owner.slot] = 0;
    }
  }

  /** Takes the series out of every scrape: every entry 0 and withdrawn; a bucket counted in again takes its epoch back. */
  withdraw(): void {
    for (const owner of this.entries) {
      owner.region.values[owner.slot] = 0;
      owner.region.values[owner.slot + 1] = WITHDRAWN;
    }
  }

  /** Undoes withdraw() for a series made again: its window entry says it is there. */
  restore(): void {
    const values = this.windowEntry.region.values;
    if (values[this.windowEntry.slot + 1] === WITHDRAWN) values[this.windowEntry.slot + 1] = 0;
  }
}

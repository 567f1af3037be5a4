import type { Region } from '../storage/entry-file.js';
import type { SlotOwner } from '../storage/series-store.js';
import { clearRecordedExemplar, type ExemplarSlot } from '../storage/exemplar-store.js';
import type { MetricIdentity } from './descriptor.js';
import { WITHDRAWN } from '../format/merge.js';

// A module-local copy for the hot path: read through the import binding on every write, the
// constant costs a property load (a getter call under loaders such as tsx): 3.5 -> 22 ns an inc.
const WITHDRAWN_TIME = WITHDRAWN;

/** The metric a child belongs to, as the child sees it. */
export interface ChildOwner extends MetricIdentity {
  /** Takes back a child whose series was withdrawn while its caller kept it (see Child.revive). */
  reattach(child: Child): void;
}

/**
 * The value slots of one label set. Subclasses read and write
 * `region.values[slot]` directly: that is the whole hot path. Each write
 * first looks at the timestamp beside its first value: WITHDRAWN there means
 * the series was removed (remove(), reset(), its metric leaving its
 * registries) while the caller kept this child, and the write makes it again.
 */
export abstract class Child implements SlotOwner {
  region!: Region;
  /** The label set as it was first given (its key order and value types), as prom-client's get() shows it. */
  labels: Record<string, string | number> = {};
  /** With a directory and enableExemplars: per entry, where its exemplars are written, made at the first one (Metric.storeExemplar). */
  exemplarSlots: Array<ExemplarSlot | undefined> | undefined;

  constructor(
    protected readonly metric: ChildOwner,
    /** In label name order; undefined for a label left out. */
    readonly labelValues: readonly (string | undefined)[],
  ) {}

  abstract rebind(region: Region, slots: readonly number[]): void;
  /** Every slot of this child, value slots only (timestamps follow them). */
  abstract slots(): number[];

  zeroSlots(): void {
    const values = this.region.values;
    for (const slot of this.slots()) {
      values[slot] = 0;
      values[slot + 1] = 0;
    }
  }

  /** Takes this child's series out of every scrape: values 0, entries marked withdrawn (format/merge.ts), exemplars cleared. */
  withdraw(): void {
    const values = this.region.values;
    for (const slot of this.slots()) {
      values[slot] = 0;
      values[slot + 1] = WITHDRAWN;
    }
    this.clearExemplars();
  }

  /**
   * Drops this child's exemplars, in memory and in this process's exemplar
   * file: a series removed, reset or zeroed starts without one, as
   * prom-client's fresh entry does. Left in the file, the old exemplar would
   * come back in every scrape once the series is made again (the merge takes
   * the latest exemplar by timestamp, and the new life may have none yet).
   */
  clearExemplars(): void {
    const slots = this.exemplarSlots;
    if (slots === undefined) return;
    for (const slot of slots) if (slot !== undefined) clearRecordedExemplar(slot);
  }

  /** Undoes withdraw() for a series made again (its values are 0 already). */
  restore(): void {
    const values = this.region.values;
    for (const slot of this.slots()) if (values[slot + 1] === WITHDRAWN) values[slot + 1] = 0;
  }

  /** Whether the entry at `slot` was withdrawn (its timestamp says so): checked by every write. */
  protected withdrawnAt(slot: number): boolean {
    return this.region.values[slot + 1] === WITHDRAWN_TIME;
  }

  /**
   * A write to a child whose series was withdrawn: as prom-client's kept
   * labels() objects do, the write makes the series again, from 0, under the
   * same labels, so it is counted where `metric.labels(...)` would count it.
   */
  protected revive(): void {
    this.metric.reattach(this);
  }

  /** What zero() does to this child: its values to 0, its exemplars dropped. */
  zero(): void {
    this.zeroSlots();
    this.clearExemplars();
  }
}

/** A child with one value (counters, gauges). */
export abstract class SingleSlotChild extends Child {
  protected slot = 0;

  rebind(region: Region, slots: readonly number[]): void {
    this.region = region;
    this.slot = slots[0];
  }

  slots(): number[] {
    return [this.slot];
  }

  get value(): number {
    return this.region.values[this.slot];
  }
}

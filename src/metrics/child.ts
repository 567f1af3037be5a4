import type { Region } from '../storage/entry-file.js';
import type { SlotOwner } from '../storage/series-store.js';
import type { MetricIdentity } from './descriptor.js';
import { WITHDRAWN } from '../format/merge.js';

/**
 * The value slots of one label set. Subclasses read and write
 * `region.values[slot]` directly: that is the whole hot path.
 */
export abstract class Child implements SlotOwner {
  region!: Region;
  /** The label set as it was first given (its key order and value types), as prom-client's get() shows it. */
  labels: Record<string, string | number> = {};

  constructor(
    protected readonly metric: MetricIdentity,
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

  /** Takes this child's series out of every scrape: values 0, entries marked withdrawn (format/merge.ts). */
  withdraw(): void {
    const values = this.region.values;
    for (const slot of this.slots()) {
      values[slot] = 0;
      values[slot + 1] = WITHDRAWN;
    }
  }

  /** Undoes withdraw() for a series made again (its values are 0 already). */
  restore(): void {
    const values = this.region.values;
    for (const slot of this.slots()) if (values[slot + 1] === WITHDRAWN) values[slot + 1] = 0;
  }

  /** What zero() does to this child: its values to 0. */
  zero(): void {
    this.zeroSlots();
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

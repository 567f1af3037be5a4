import type { GaugeMode, MetricType } from '../format/names.js';

/**
 * What the collector keeps of each source (a file, or this process's
 * in-memory store) between scrapes: a source's entries never move, so a
 * scrape parses only the entries that are new since the last one.
 */

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
  /** A `.nhdb` file: native histogram buckets, merged apart from the series (native-table.ts). */
  native?: true;
  /** An `.exdb` file: exemplars (exemplar-table.ts). */
  exemplar?: true;
  /** Whether the file's writer is alive (Python's files count as alive; accumulated files do not); undefined: not asked in this pass. */
  live?: boolean;
}

/** What we remember of a source between scrapes: its entries never move, so only new ones are parsed. */
export class SourceState {
  parsedUpTo = 0;
  /** Per parsed entry, two ints: the Float64 index of its value, and its series (-1: ignored, a type clash). Shared: never written. */
  entries: Int32Array = new Int32Array(0);
  /** Key bytes of the last parsed entry, re-checked at each scrape to catch a different file under the same identity. */
  lastKey: Buffer | undefined;
  lastKeyAt = 0;

  constructor(
    readonly identity: string,
    /** How the source's values merge, as the collector's merge loop numbers the rules (incremental.ts, Merge). */
    readonly rule: number,
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
export class SharedEntryLists {
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

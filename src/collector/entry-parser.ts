import { checkedUsed, newRawEntry, readEntry } from '../format/layout.js';
import { KeyTable } from './key-table.js';
import { SharedEntryLists, type SourceImage, type SourceState } from './source-state.js';

/**
 * Finds or creates what a key met for the first time stands for (a series,
 * a native bucket), from its bytes [keyStart, keyEnd) of `buf`; -1 to ignore
 * its entries. Throws FileFormatError for a bad key.
 */
export type ResolveKey = (buf: Buffer, keyStart: number, keyEnd: number, offset: number) => number;

/**
 * Parses the entries of a source that are new since the last scrape into
 * its SourceState: per entry, the Float64 index of its value and what its
 * key resolves to, each distinct key parsed once over all sources (KeyTable).
 * What the classic collector and the native bucket table share.
 */
export class EntryParser {
  private parsed = new Int32Array(4096);
  private readonly entryLists = new SharedEntryLists();
  private readonly entry = newRawEntry();

  /**
   * Parses the entries of `image` past those of `state`. `reserve(bytes)` is
   * told, at the first new key, how many bytes the rest of the file holds.
   * Throws FileFormatError.
   */
  parseNew(state: SourceState, image: SourceImage, keys: KeyTable, resolve: ResolveKey, reserve?: (bytes: number) => void): void {
    const { buf } = image;
    const used = checkedUsed(buf, image.used);
    const words = new Int32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
    const entry = this.entry;
    // The list is rebuilt whole (old entries, then new) and shared with sources that have the same.
    // Entries are 24 bytes at the least: this bounds how many can be new.
    const parsed = this.reserveParsed(state.entries.length + Math.ceil((used - state.parsedUpTo) / 24) * 2);
    parsed.set(state.entries);
    const known = state.entries.length >> 1;
    let count = known;
    let previous = -1;
    let reserved = false;
    for (let pos = Math.max(state.parsedUpTo, 8); pos < used; ) {
      pos = readEntry(buf, pos, used, entry);
      const { keyStart, keyEnd } = entry;
      let index = keys.guess(previous);
      if (index < 0 || !keys.matches(index, words, buf, keyStart, keyEnd)) {
        const hash = KeyTable.hash(words, buf, keyStart, keyEnd);
        index = keys.find(words, buf, keyStart, keyEnd, hash);
        if (index < 0) {
          if (!reserved) {
            // The rest of this file bounds what its new keys (and whatever they make) can take.
            keys.reserveKeyBytes(used - entry.offset);
            reserve?.(used - entry.offset);
            reserved = true;
          }
          index = keys.add(words, buf, keyStart, keyEnd, hash, resolve(buf, keyStart, keyEnd, entry.offset));
        }
        keys.follows(previous, index);
      }
      previous = index;
      parsed[count * 2] = entry.valueOffset >>> 3;
      parsed[count * 2 + 1] = keys.value(index);
      count++;
    }
    state.parsedUpTo = used;
    if (count === known) return;
    state.entries = this.entryLists.intern(parsed, count * 2);
    state.lastKey = Buffer.from(buf.subarray(entry.keyStart, entry.keyEnd));
    state.lastKeyAt = entry.keyStart;
  }

  /** Forgets every shared entry list but those of `sources`. */
  retain(sources: Iterable<SourceState>): void {
    this.entryLists.retain([...sources].map((source) => source.entries));
  }

  /** The scratch array parseNew fills, reused over sources so each source allocates only its exact result. */
  private reserveParsed(length: number): Int32Array {
    if (this.parsed.length < length) this.parsed = new Int32Array(Math.max(length, this.parsed.length * 2));
    return this.parsed;
  }
}

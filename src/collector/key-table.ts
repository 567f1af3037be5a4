/**
 * Finds the series of an entry key by its bytes, without making a string:
 * a scrape of many files looks up hundreds of thousands of keys, nearly all
 * seen before, and a string per lookup was most of a cold scrape's time and
 * garbage. Keys are hashed over 4-byte words (an entry's key starts 4 bytes
 * after an 8-aligned entry, so it is 4-aligned) and confirmed byte by byte.
 */
export class KeyTable {
  private readonly byHash = new Map<number, number | number[]>();
  private readonly keys: Buffer[] = [];
  private readonly values: number[] = [];

  /** FNV-1a over the words of bytes [start, end) of `buf`, `words` being a view of the same memory. */
  static hash(words: Int32Array, buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    const fullWordsEnd = start + ((end - start) & ~3);
    for (let w = start >> 2, last = fullWordsEnd >> 2; w < last; w++) h = Math.imul(h ^ words[w], 0x01000193);
    for (let i = fullWordsEnd; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    return h;
  }

  /** The value stored for these key bytes, or -1. */
  get(buf: Buffer, start: number, end: number, hash: number): number {
    const found = this.byHash.get(hash);
    if (found === undefined) return -1;
    if (typeof found === 'number') return this.matches(found, buf, start, end) ? this.values[found] : -1;
    for (const index of found) if (this.matches(index, buf, start, end)) return this.values[index];
    return -1;
  }

  set(buf: Buffer, start: number, end: number, hash: number, value: number): void {
    const index = this.keys.length;
    this.keys.push(Buffer.from(buf.subarray(start, end)));
    this.values.push(value);
    const found = this.byHash.get(hash);
    if (found === undefined) this.byHash.set(hash, index);
    else if (typeof found === 'number') this.byHash.set(hash, [found, index]);
    else found.push(index);
  }

  private matches(index: number, buf: Buffer, start: number, end: number): boolean {
    const key = this.keys[index];
    return key.length === end - start && buf.compare(key, 0, key.length, start, end) === 0;
  }
}

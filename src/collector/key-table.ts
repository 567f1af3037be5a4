/**
 * Finds the series of an entry key by its bytes, without making a string:
 * a scrape of many files looks up hundreds of thousands of keys, nearly all
 * seen before, and a string per lookup was most of a cold scrape's time and
 * garbage. Keys are hashed over 4-byte words (an entry's key starts 4 bytes
 * after an 8-aligned entry, so it is 4-aligned) and confirmed word by word
 * against a copy kept in one arena.
 */
export class KeyTable {
  private readonly byHash = new Map<number, number | number[]>();
  /** Every stored key, each starting on a 4-byte boundary. */
  private arena = new Uint8Array(4096);
  private arenaWords = new Int32Array(this.arena.buffer);
  private arenaUsed = 0;
  private readonly starts: number[] = [];
  private readonly lengths: number[] = [];
  private readonly values: number[] = [];

  /** FNV-1a over the words of bytes [start, end) of `bytes`; `words` views the same memory. */
  static hash(words: Int32Array, bytes: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    const wordsEnd = start + ((end - start) & ~3);
    for (let w = start >> 2, last = wordsEnd >> 2; w < last; w++) h = Math.imul(h ^ words[w], 0x01000193);
    for (let i = wordsEnd; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
    return h;
  }

  /** The value stored for the key at bytes [start, end), or -1. */
  get(words: Int32Array, bytes: Uint8Array, start: number, end: number, hash: number): number {
    const found = this.byHash.get(hash);
    if (found === undefined) return -1;
    if (typeof found === 'number') return this.matches(found, words, bytes, start, end) ? this.values[found] : -1;
    for (const index of found) if (this.matches(index, words, bytes, start, end)) return this.values[index];
    return -1;
  }

  set(bytes: Uint8Array, start: number, end: number, hash: number, value: number): void {
    const length = end - start;
    const at = this.arenaUsed;
    if (at + length + 4 > this.arena.length) {
      let size = this.arena.length * 2;
      while (size < at + length + 4) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.arena);
      this.arena = bigger;
      this.arenaWords = new Int32Array(bigger.buffer);
    }
    this.arena.set(bytes.subarray(start, end), at);
    this.arenaUsed = (at + length + 3) & ~3;
    const index = this.values.length;
    this.starts.push(at);
    this.lengths.push(length);
    this.values.push(value);
    const found = this.byHash.get(hash);
    if (found === undefined) this.byHash.set(hash, index);
    else if (typeof found === 'number') this.byHash.set(hash, [found, index]);
    else found.push(index);
  }

  private matches(index: number, words: Int32Array, bytes: Uint8Array, start: number, end: number): boolean {
    const length = end - start;
    if (this.lengths[index] !== length) return false;
    const stored = this.starts[index];
    const arenaWords = this.arenaWords;
    const fullWords = length >> 2;
    for (let i = 0, a = stored >> 2, b = start >> 2; i < fullWords; i++) if (arenaWords[a + i] !== words[b + i]) return false;
    const arena = this.arena;
    for (let i = fullWords << 2; i < length; i++) if (arena[stored + i] !== bytes[start + i]) return false;
    return true;
  }
}

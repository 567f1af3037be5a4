/**
 * Finds the series of an entry key by its bytes, without making a string:
 * a scrape of many files looks up hundreds of thousands of keys, nearly all
 * seen before, and a string per lookup was most of a cold scrape's time and
 * garbage. Keys are hashed over 4-byte words (an entry's key starts 4 bytes
 * after an 8-aligned entry, so it is 4-aligned) and confirmed word by word
 * against a copy kept in one arena. The table is open addressing over typed
 * arrays: a lookup allocates nothing.
 *
 * Writers of one service create their series in much the same order, so the
 * table also remembers which key followed each key in the last file walked:
 * `guess()` proposes it, and confirming a guess costs one comparison, no
 * hash and no probe.
 */
export class KeyTable {
  /** Open-addressing slots: key index + 1, 0 when empty. Size is a power of two, at most half full. */
  private slots = new Int32Array(1024);
  /** Every stored key, each starting on a 4-byte boundary. */
  private arena = new Uint8Array(4096);
  private arenaWords = new Int32Array(this.arena.buffer);
  private arenaUsed = 0;
  private starts = new Int32Array(256);
  private lengths = new Int32Array(256);
  private hashes = new Int32Array(256);
  private values = new Int32Array(256);
  /** Per key index + 1: the key index that followed it last time (index 0: the first key of a file), or -1. */
  private followers = new Int32Array(257).fill(-1);
  private count = 0;

  /** FNV-1a over the words of bytes [start, end) of `bytes`; `words` views the same memory. */
  static hash(words: Int32Array, bytes: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    const wordsEnd = start + ((end - start) & ~3);
    for (let w = start >> 2, last = wordsEnd >> 2; w < last; w++) h = Math.imul(h ^ words[w], 0x01000193);
    for (let i = wordsEnd; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
    return h;
  }

  get size(): number {
    return this.count;
  }

  /** The index of the key at bytes [start, end), or -1. */
  find(words: Int32Array, bytes: Uint8Array, start: number, end: number, hash: number): number {
    const mask = this.slots.length - 1;
    for (let at = mixed(hash) & mask; ; at = (at + 1) & mask) {
      const stored = this.slots[at];
      if (stored === 0) return -1;
      const index = stored - 1;
      if (this.hashes[index] === hash && this.matches(index, words, bytes, start, end)) return index;
    }
  }

  /** Stores a key not in the table with its value; returns its index. */
  add(words: Int32Array, bytes: Uint8Array, start: number, end: number, hash: number, value: number): number {
    const index = this.count;
    if (index === this.values.length) this.growEntries();
    if ((index + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    const length = end - start;
    const at = this.arenaUsed;
    if (at + length + 4 > this.arena.length) this.growArena(at + length + 4);
    // Word by word (both sides are 4-aligned), then the last bytes: no view object per key.
    const arenaWords = this.arenaWords;
    const fullWords = length >> 2;
    for (let i = 0, a = at >> 2, b = start >> 2; i < fullWords; i++) arenaWords[a + i] = words[b + i];
    for (let i = fullWords << 2; i < length; i++) this.arena[at + i] = bytes[start + i];
    this.arenaUsed = (at + length + 3) & ~3;
    this.starts[index] = at;
    this.lengths[index] = length;
    this.hashes[index] = hash;
    this.values[index] = value;
    this.followers[index + 1] = -1;
    this.count++;
    this.place(index);
    return index;
  }

  /**
   * Makes room for `bytes` more key bytes at once. A table growing by
   * doubling touches twice the memory it keeps, and fresh pages are what a
   * cold scrape pays most for (each is a page fault).
   */
  reserveKeyBytes(bytes: number): void {
    if (this.arenaUsed + bytes + 4 > this.arena.length) this.growArena(this.arenaUsed + bytes + 4);
  }

  /**
   * Forgets every key from index `count` on (the latest ones), so that a
   * file found bad halfway leaves no key behind. Keys are placed in index
   * order (rehash() too), so no older key's probe runs over a slot of a
   * newer one: emptying those slots breaks no chain.
   */
  truncate(count: number): void {
    const mask = this.slots.length - 1;
    for (let index = this.count - 1; index >= count; index--) {
      let at = mixed(this.hashes[index]) & mask;
      while (this.slots[at] !== index + 1) at = (at + 1) & mask;
      this.slots[at] = 0;
    }
    this.count = count;
    this.arenaUsed = count === 0 ? 0 : (this.starts[count - 1] + this.lengths[count - 1] + 3) & ~3;
  }

  value(index: number): number {
    return this.values[index];
  }

  /** The key that followed `previous` (-1: the start of a file) last time, or -1. */
  guess(previous: number): number {
    const next = this.followers[previous + 1];
    return next < this.count ? next : -1;
  }

  /** Remembers that `next` followed `previous` (-1: the start of a file). */
  follows(previous: number, next: number): void {
    this.followers[previous + 1] = next;
  }

  /** Whether key `index` is the key at bytes [start, end). */
  matches(index: number, words: Int32Array, bytes: Uint8Array, start: number, end: number): boolean {
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

  private place(index: number): void {
    const mask = this.slots.length - 1;
    let at = mixed(this.hashes[index]) & mask;
    while (this.slots[at] !== 0) at = (at + 1) & mask;
    this.slots[at] = index + 1;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let index = 0; index < this.count; index++) this.place(index);
  }

  private growEntries(): void {
    const size = this.values.length * 2;
    this.starts = grown(this.starts, size);
    this.lengths = grown(this.lengths, size);
    this.hashes = grown(this.hashes, size);
    this.values = grown(this.values, size);
    this.followers = grown(this.followers, size + 1);
  }

  private growArena(needed: number): void {
    let size = this.arena.length * 2;
    while (size < needed) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.arena.subarray(0, this.arenaUsed));
    this.arena = bigger;
    this.arenaWords = new Int32Array(bigger.buffer);
  }
}

/** FNV's low bits are weak for keys that differ only at the end: spread the high bits down before masking. */
function mixed(hash: number): number {
  return hash ^ (hash >>> 15);
}

function grown(old: Int32Array<ArrayBuffer>, size: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(size);
  next.set(old);
  return next;
}

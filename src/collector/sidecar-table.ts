import { EntryParser } from './entry-parser.js';
import { KeyTable } from './key-table.js';
import { SourceState, type SourceImage } from './source-state.js';

/**
 * What the tables of the `.nhdb` sidecar files (native histogram buckets,
 * summary quantile buckets) share: each file's new entries parsed once,
 * their keys numbered by the table (`resolve`), and per numbered entry a
 * value and the scrape that last set it. A file whose bytes turn out bad is
 * taken back whole: the keys, entries and series its parse made are undone,
 * so a skipped file leaves nothing behind.
 */
export abstract class SidecarTable<Mark> {
  private readonly sources = new Map<string, SourceState>();
  private readonly keys = new KeyTable();
  private readonly parser = new EntryParser();
  protected value = new Float64Array(256);
  protected seenIn = new Uint32Array(256);
  protected scrape = 0;

  /** Starts a scrape: files added until the next begin() make up its result. */
  begin(): void {
    this.scrape++;
    if (this.scrape === 0xffffffff) {
      this.seenIn.fill(0);
      this.scrapesRestarted();
      this.scrape = 1;
    }
  }

  /** Parses what is new in `image` and merges its values. Throws FileFormatError (forgetting the source) when its bytes are bad. */
  add(image: SourceImage): void {
    let state = this.sources.get(image.name);
    if (!state || !state.stillMatches(image)) {
      state = new SourceState(image.identity, 0);
      this.sources.set(image.name, state);
    }
    if (image.used !== state.parsedUpTo) {
      const keyCount = this.keys.size;
      const mark = this.mark();
      try {
        this.parser.parseNew(state, image, this.keys, (buf, keyStart, keyEnd, offset) => this.resolve(buf, keyStart, keyEnd, offset));
      } catch (err) {
        this.sources.delete(image.name);
        this.keys.truncate(keyCount);
        this.undo(mark);
        throw err;
      }
    }
    this.merge(state, image);
  }

  /** Forgets sources not added since begin() with these names kept. */
  retainSources(names: ReadonlySet<string>): void {
    for (const name of this.sources.keys()) if (!names.has(name)) this.sources.delete(name);
    this.parser.retain(this.sources.values());
  }

  /** Makes room for the value of entry `number` (numbers are handed out in order). */
  protected makeRoom(number: number): void {
    if (number < this.value.length) return;
    const value = new Float64Array(this.value.length * 2);
    value.set(this.value);
    this.value = value;
    const seenIn = new Uint32Array(this.seenIn.length * 2);
    seenIn.set(this.seenIn);
    this.seenIn = seenIn;
  }

  /** The scrape counter wrapped to 1: anything else that remembers a scrape number forgets it. */
  protected scrapesRestarted(): void {}

  /** Where the table stands before a parse, for undo(). */
  protected abstract mark(): Mark;

  /** Decodes a key met for the first time and returns its entry number (makeRoom() for it). Throws FileFormatError for a bad key. */
  protected abstract resolve(buf: Buffer, keyStart: number, keyEnd: number, offset: number): number;

  /** Merges the values of `image`'s entries into this scrape. */
  protected abstract merge(state: SourceState, image: SourceImage): void;

  /** Takes back every entry and series made since `mark`. */
  protected abstract undo(mark: Mark): void;
}

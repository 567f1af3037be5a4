import { FileFormatError, StorageError } from '../errors.js';
import { HEADER_SIZE, INITIAL_FILE_SIZE, MAX_USED, VALUE_BYTES, entrySize, walkEntries, writeEntry, writeEntryKey, writeUsed } from '../format/layout.js';
import type { Backing } from './backing.js';

/**
 * What a metric child writes through: `values` views the whole buffer as
 * float64, so the value of an entry whose value starts at byte `o` is
 * `values[o / 8]` and its timestamp `values[o / 8 + 1]`. The array is
 * replaced when the buffer grows, so children keep the Region, never the
 * array.
 */
export interface Region {
  values: Float64Array;
}

/** The StorageError code of a file that has all the entries the format can address: it never grows again. */
export const FILE_FULL = 'EFBIG';

/** A new, empty file's bytes: `used` = 8, then zeros. */
export function emptyFileImage(): Buffer {
  const image = Buffer.alloc(INITIAL_FILE_SIZE);
  writeUsed(image, HEADER_SIZE);
  return image;
}

/** The entries of one file (or one in-memory image of a file), indexed by exact key text. */
export class EntryFile implements Region {
  values: Float64Array;
  private used: number;
  private readonly slotByKey = new Map<string, number>();

  constructor(
    private backing: Backing,
    existing?: Buffer,
    /** Where entries must end: the format's limit (a test sets a small one to reach it). */
    private readonly maxUsed = MAX_USED,
    /** The bytes after each key: a value and a timestamp, or (an exemplar file) an exemplar record, written zero. */
    private readonly payloadBytes = VALUE_BYTES,
  ) {
    this.values = floatView(backing.buffer);
    this.used = HEADER_SIZE;
    if (existing) this.indexExisting(existing);
    else writeUsed(backing.buffer, HEADER_SIZE);
  }

  get where(): string {
    return this.backing.where;
  }

  get buffer(): Buffer {
    return this.backing.buffer;
  }

  slotOf(key: string): number | undefined {
    return this.slotByKey.get(key);
  }

  /**
   * Appends entries for `keys` (none of which may exist yet), all or none:
   * if the file cannot grow, nothing is written and StorageError is thrown.
   * `initial(i)` gives the value and timestamp of entry i (0 and 0 by default).
   * Returns the value slot of each key.
   */
  append(keys: readonly string[], initial?: (i: number) => readonly [number, number]): number[] {
    const encoded = keys.map((k) => Buffer.from(k, 'utf8'));
    let needed = this.used;
    for (const key of encoded) needed += entrySize(key.length, this.payloadBytes);
    if (needed > this.maxUsed) {
      throw new StorageError(
        `${this.where} would pass the ${this.maxUsed} bytes a multiprocess file can address (its "used" field is 32 bits)`,
        this.where,
        FILE_FULL,
      );
    }
    this.backing.ensureWritable(needed);
    if (this.values.buffer !== this.backing.buffer.buffer) this.values = floatView(this.backing.buffer);
    const buf = this.backing.buffer;
    const slots: number[] = [];
    let pos = this.used;
    for (let i = 0; i < encoded.length; i++) {
      let valueAt: number;
      if (this.payloadBytes === VALUE_BYTES) {
        const [value, timestamp] = initial ? initial(i) : [0, 0];
        valueAt = writeEntry(buf, pos, encoded[i], value, timestamp);
      } else {
        valueAt = writeEntryKey(buf, pos, encoded[i]);
        buf.fill(0, valueAt, valueAt + this.payloadBytes);
      }
      slots.push(valueAt / 8);
      this.slotByKey.set(keys[i], valueAt / 8);
      pos += entrySize(encoded[i].length, this.payloadBytes);
    }
    // Publishing `used` last makes the entries visible to readers only once complete.
    this.used = pos;
    writeUsed(buf, pos);
    return slots;
  }

  /** Whether the file is still where it was created: it may have been deleted, or its directory replaced. */
  inPlace(): boolean {
    return this.backing.inPlace();
  }

  /**
   * A copy of this file's bytes, for a new file that takes its place: every
   * entry where it is now, with its current values, or with values and
   * timestamps zeroed when `zeroed`.
   */
  image(zeroed: boolean): Buffer {
    const copy = Buffer.from(this.backing.buffer);
    if (zeroed) for (const slot of this.slotByKey.values()) copy.fill(0, slot * 8, slot * 8 + this.payloadBytes);
    return copy;
  }

  /**
   * Continues in `backing`, a file made from image(): the slots stay where
   * they are, so children bound to this region write into the new file.
   */
  moveTo(backing: Backing): void {
    const old = this.backing;
    this.backing = backing;
    this.values = floatView(backing.buffer);
    old.close();
  }

  private indexExisting(existing: Buffer): void {
    try {
      this.used = walkEntries(
        existing,
        existing.length,
        (entry) => void this.slotByKey.set(existing.toString('utf8', entry.keyStart, entry.keyEnd), entry.valueOffset / 8),
        HEADER_SIZE,
        this.payloadBytes,
      );
    } catch (err) {
      if (err instanceof FileFormatError) {
        throw new StorageError(
          `existing file ${this.backing.where} is not a valid multiprocess file (${err.reason}); move it away or delete it`,
          this.backing.where,
          'EFORMAT',
          { cause: err },
        );
      }
      throw err;
    }
  }
}

function floatView(buf: Buffer): Float64Array {
  return new Float64Array(buf.buffer, buf.byteOffset, buf.length >>> 3);
}

import { FileFormatError } from '../errors.js';

/**
 * Byte layout of one multiprocess file (see docs/format.md):
 *
 *   0  int32 used (bytes in use, header included)   4  four zero bytes
 *   8  entries: int32 keyLength, key, 1..8 spaces, float64 value, float64 timestamp
 *
 * Exemplar files (`.exdb`) frame their entries the same way, with a larger
 * fixed payload in place of value and timestamp (format/exemplar-record.ts):
 * the functions that frame entries take the payload size, 16 by default.
 *
 * Everything here is pure: it reads and writes Buffers, never files.
 */

export const HEADER_SIZE = 8;
export const INITIAL_FILE_SIZE = 65536;

const SPACE = 0x20;

/** Bytes from the start of an entry to its value: length field, key, padding (1..8 spaces). */
export function valueOffsetInEntry(keyLength: number): number {
  const padding = 8 - ((keyLength + 4) % 8);
  return 4 + keyLength + padding;
}

/** The bytes after an entry's key and padding in a metrics file: float64 value, float64 timestamp. */
export const VALUE_BYTES = 16;

export function entrySize(keyLength: number, payloadBytes = VALUE_BYTES): number {
  return valueOffsetInEntry(keyLength) + payloadBytes;
}

export function readUsed(buf: Buffer): number {
  return buf.readInt32LE(0);
}

/**
 * Publishes `used` with one 4-byte store: Buffer.writeInt32LE stores byte by
 * byte, and a reader copying the header meanwhile could see a mix of old and
 * new bytes. (Little-endian hosts only, as the format itself.)
 */
export function writeUsed(buf: Buffer, used: number): void {
  Atomics.store(new Int32Array(buf.buffer, buf.byteOffset, 1), 0, used);
}

/**
 * The most bytes a file's entries can end at: `used` is a signed 32-bit
 * field (and entries end on 8-byte boundaries), so a file never holds
 * entries past 2 GiB.
 */
export const MAX_USED = 0x7ffffff8;

/** The file size after doubling from `size` until `needed` bytes fit (needed <= MAX_USED, so at most 2 GiB). */
export function grownSize(size: number, needed: number): number {
  let next = Math.max(size, INITIAL_FILE_SIZE);
  while (next < needed) next *= 2;
  return next;
}

/**
 * Writes a whole entry at `offset` (value and timestamp given) and returns the
 * offset of its value. The caller publishes it by writing `used` afterwards.
 */
export function writeEntry(buf: Buffer, offset: number, key: Buffer, value: number, timestamp: number): number {
  const valueAt = writeEntryKey(buf, offset, key);
  buf.writeDoubleLE(value, valueAt);
  buf.writeDoubleLE(timestamp, valueAt + 8);
  return valueAt;
}

/** Writes an entry's length, key and padding at `offset`; returns the offset of its payload, which the caller fills. */
export function writeEntryKey(buf: Buffer, offset: number, key: Buffer): number {
  buf.writeInt32LE(key.length, offset);
  key.copy(buf, offset + 4);
  const valueAt = offset + valueOffsetInEntry(key.length);
  buf.fill(SPACE, offset + 4 + key.length, valueAt);
  return valueAt;
}

export interface RawEntry {
  /** Offset of the entry's length field. */
  offset: number;
  keyStart: number;
  keyEnd: number;
  /** Offset of the payload: the value, then the timestamp (an exemplar file: the exemplar record). */
  valueOffset: number;
}

/**
 * Checks the header of `buf[0, size)` and returns `used`. Throws
 * FileFormatError.
 */
export function checkedUsed(buf: Buffer, size: number): number {
  if (size < HEADER_SIZE) throw new FileFormatError(`file of ${size} bytes is shorter than the 8-byte header`, 0);
  const used = buf.readInt32LE(0);
  if (used < HEADER_SIZE) throw new FileFormatError(`header says ${used} bytes in use, fewer than the header itself`, 0);
  if (used > size) throw new FileFormatError(`header says ${used} bytes in use but the file has only ${size}`, 0);
  if (buf.readInt32LE(4) !== 0) throw new FileFormatError('header bytes 4..7 are not zero', 4);
  return used;
}

/**
 * Reads the entry at `pos` into `entry`, checking every structural rule, so
 * a file in another layout (Python 0.16's 8-byte slots, pre-0.16 keys) or a
 * damaged one is refused instead of misread. Returns the next entry's
 * offset. Throws FileFormatError. Small on purpose: the collector's loop
 * over hundreds of thousands of entries gets it inlined.
 */
export function readEntry(buf: Buffer, pos: number, used: number, entry: RawEntry, payloadBytes = VALUE_BYTES): number {
  if (pos + 4 > used) throw new FileFormatError('entry length field runs past the bytes in use', pos);
  const keyLength = buf.readInt32LE(pos);
  if (keyLength <= 0) throw new FileFormatError(`bad key length ${keyLength}`, pos);
  const valueOffset = pos + valueOffsetInEntry(keyLength);
  const end = valueOffset + payloadBytes;
  if (end > used) throw new FileFormatError(`entry of ${end - pos} bytes runs past the ${used} bytes in use`, pos);
  for (let i = pos + 4 + keyLength; i < valueOffset; i++) {
    if (buf[i] !== SPACE) throw new FileFormatError('key padding is not spaces', i);
  }
  entry.offset = pos;
  entry.keyStart = pos + 4;
  entry.keyEnd = pos + 4 + keyLength;
  entry.valueOffset = valueOffset;
  return end;
}

export function newRawEntry(): RawEntry {
  return { offset: 0, keyStart: 0, keyEnd: 0, valueOffset: 0 };
}

/**
 * Walks the entries of `buf[0, size)` with readEntry's checks. Throws
 * FileFormatError. `from` resumes a walk at the end of entries already
 * walked (files only grow). `visit` gets the same object each time, updated:
 * copy what it keeps. Returns `used`.
 */
export function walkEntries(buf: Buffer, size: number, visit: (entry: RawEntry) => void, from = HEADER_SIZE, payloadBytes = VALUE_BYTES): number {
  const used = checkedUsed(buf, size);
  const entry = newRawEntry();
  for (let pos = from; pos < used; ) {
    pos = readEntry(buf, pos, used, entry, payloadBytes);
    visit(entry);
  }
  return used;
}

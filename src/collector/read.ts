import * as fs from 'node:fs';
import { FileFormatError } from '../errors.js';
import { decodeEntryKey, type DecodedKey } from '../format/key.js';
import { HEADER_SIZE, walkEntries } from '../format/layout.js';

export interface FileEntry extends DecodedKey {
  value: number;
  timestamp: number;
}

/** Parses the entries of a file image: `buf` holds at least `used` bytes. Throws FileFormatError. */
export function parseEntries(buf: Buffer, size: number, skipSlots?: ReadonlySet<number>): FileEntry[] {
  const entries: FileEntry[] = [];
  walkEntries(buf, size, (entry) => {
    if (skipSlots?.has(entry.valueOffset / 8)) return;
    const key = decodeEntryKey(buf.subarray(entry.keyStart, entry.keyEnd), entry.offset);
    entries.push({ ...key, value: buf.readDoubleLE(entry.valueOffset), timestamp: buf.readDoubleLE(entry.valueOffset + 8) });
  });
  return entries;
}

/**
 * Reads a file with plain reads (never mmap: a file that shrinks under a
 * mapping kills the reader with SIGBUS). The header is read before the size,
 * so a writer that grows and appends meanwhile only adds bytes we do not need.
 */
export function readEntryFile(path: string): FileEntry[] {
  const fd = fs.openSync(path, 'r');
  try {
    const header = Buffer.alloc(HEADER_SIZE);
    const got = fs.readSync(fd, header, 0, HEADER_SIZE, 0);
    const size = fs.fstatSync(fd).size;
    if (size === 0) throw new FileFormatError('empty file (0 bytes)', 0);
    if (got < HEADER_SIZE) throw new FileFormatError(`file of ${size} bytes is shorter than the 8-byte header`, 0);
    const used = header.readInt32LE(0);
    if (used < HEADER_SIZE || used > size) {
      throw new FileFormatError(`header says ${used} bytes in use but the file has ${size} (truncated or not a multiprocess file)`, 0);
    }
    const buf = Buffer.alloc(used);
    header.copy(buf);
    let read = HEADER_SIZE;
    while (read < used) {
      const n = fs.readSync(fd, buf, read, used - read, read);
      if (n === 0) throw new FileFormatError(`file ended after ${read} of the ${used} bytes in use`, read);
      read += n;
    }
    return parseEntries(buf, used);
  } finally {
    fs.closeSync(fd);
  }
}

import * as fs from 'node:fs';
import { FileFormatError } from '../errors.js';
import { HEADER_SIZE } from '../format/layout.js';

export interface FileImage {
  /** Bytes [0, used) of the file; byteOffset 0, so float64 views line up. */
  buf: Buffer;
  used: number;
  /** Device, inode and birth time: another file at the same path has another identity. */
  identity: string;
}

/**
 * Reads the bytes in use of a multiprocess file with plain reads (never mmap:
 * a file that shrinks under a mapping kills the reader with SIGBUS). The
 * header is read before the size, so a writer that grows and appends
 * meanwhile only adds bytes we do not need. `scratch` is reused when large
 * enough. Throws FileFormatError for a file too short for its header.
 */
export function readFileImage(path: string, scratch?: Buffer): FileImage {
  const fd = fs.openSync(path, 'r');
  try {
    let buf = scratch && scratch.length >= HEADER_SIZE ? scratch : Buffer.allocUnsafeSlow(65536);
    const got = fs.readSync(fd, buf, 0, HEADER_SIZE, 0);
    const stat = fs.fstatSync(fd);
    if (stat.size === 0) throw new FileFormatError('empty file (0 bytes)', 0);
    if (got < HEADER_SIZE) throw new FileFormatError(`file of ${stat.size} bytes is shorter than the 8-byte header`, 0);
    const used = buf.readInt32LE(0);
    if (used < HEADER_SIZE || used > stat.size) {
      throw new FileFormatError(`header says ${used} bytes in use but the file has ${stat.size} (truncated or not a multiprocess file)`, 0);
    }
    if (buf.length < used) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(used, buf.length * 2));
      buf.copy(bigger, 0, 0, HEADER_SIZE);
      buf = bigger;
    }
    let read = HEADER_SIZE;
    while (read < used) {
      const n = fs.readSync(fd, buf, read, used - read, read);
      if (n === 0) throw new FileFormatError(`file ended after ${read} of the ${used} bytes in use`, read);
      read += n;
    }
    return { buf, used, identity: `${stat.dev}:${stat.ino}:${stat.birthtimeMs}` };
  } finally {
    fs.closeSync(fd);
  }
}

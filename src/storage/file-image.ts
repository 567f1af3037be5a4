import * as fs from 'node:fs';
import { FileFormatError } from '../errors.js';
import { HEADER_SIZE, entrySize, newRawEntry, readEntry, type RawEntry } from '../format/layout.js';
import { openForReading } from './safe-files.js';

export interface FileImage {
  /** Bytes [0, used) of the file; byteOffset 0, so float64 views line up. */
  buf: Buffer;
  used: number;
  /** Device, inode and birth time: another file at the same path has another identity. */
  identity: string;
}

const FIRST_READ = 65536;

function identityOf(stat: fs.Stats): string {
  return `${stat.dev}:${stat.ino}:${stat.birthtimeMs}`;
}

/**
 * Follows the entry lengths of `buf` from `from` (an entry boundary) as far
 * as `available` bytes hold whole entries; returns where it stopped. A bad
 * length, or an entry past `used`, is refused by readEntry's own check
 * (FileFormatError). Only lengths: the collector checks the rest of every
 * new entry, so this costs a load and an add per entry.
 */
function skimEntries(buf: Buffer, from: number, available: number, used: number, entry: RawEntry): number {
  let pos = from;
  while (pos + 4 <= available) {
    const keyLength = buf.readInt32LE(pos);
    const end = pos + entrySize(keyLength);
    if (keyLength <= 0 || end > used) readEntry(buf, pos, used, entry); // throws
    // A whole entry that is not read yet: the next read brings it.
    if (end > available) break;
    pos = end;
  }
  return pos;
}

/**
 * Bytes read at once whatever they hold: most files are smaller, and reading
 * them costs less than following their entries first.
 */
const UNCHECKED_READ = 4 * 1024 * 1024;

/**
 * Reads the bytes in use of an open multiprocess file with plain reads
 * (never mmap: a file that shrinks under a mapping kills the reader with
 * SIGBUS). The first read takes the header and, in the same call, up to
 * `expected` bytes; the size comes after it (`statAfter`), so a writer that
 * grows and appends meanwhile only adds bytes we do not need. `scratch` is
 * reused when large enough. Past UNCHECKED_READ bytes, the entry lengths
 * read so far (from `checkedUpTo`) are followed before each further,
 * doubling read, which stops at the first bad one: a header that claims
 * gigabytes over a hole or garbage costs one 4 MiB read, not gigabytes of
 * memory. Throws FileFormatError.
 */
function readOpenFile(fd: number, scratch: Buffer | undefined, expected: number, statAfter: () => fs.Stats, checkedUpTo = HEADER_SIZE): FileImage {
  let buf = scratch ?? Buffer.allocUnsafeSlow(FIRST_READ);
  const got = fs.readSync(fd, buf, 0, Math.min(buf.length, Math.max(expected, HEADER_SIZE)), 0);
  const stat = statAfter();
  if (stat.size === 0) throw new FileFormatError('empty file (0 bytes)', 0);
  if (got < HEADER_SIZE) throw new FileFormatError(`file of ${stat.size} bytes is shorter than the 8-byte header`, 0);
  const used = buf.readInt32LE(0);
  if (used < HEADER_SIZE || used > stat.size) {
    throw new FileFormatError(`header says ${used} bytes in use but the file has ${stat.size} (truncated or not a multiprocess file)`, 0);
  }
  let read = Math.min(got, used);
  let checked = Math.max(checkedUpTo, HEADER_SIZE);
  let entry: RawEntry | undefined;
  while (read < used) {
    if (read >= UNCHECKED_READ) checked = skimRead(buf, checked, checkedUpTo, read, used, (entry ??= newRawEntry()));
    const until = Math.min(used, Math.max(read * 2, UNCHECKED_READ));
    if (buf.length < until) {
      const bigger = Buffer.allocUnsafeSlow(Math.min(Math.max(until, buf.length * 2), used));
      buf.copy(bigger, 0, 0, read);
      buf = bigger;
    }
    while (read < until) {
      const n = fs.readSync(fd, buf, read, until - read, read);
      if (n === 0) throw new FileFormatError(`file ended after ${read} of the ${used} bytes in use`, read);
      read += n;
    }
  }
  return { buf, used, identity: identityOf(stat) };
}

/** skimEntries from `checked`, or from the start for a file rewritten in place (its entries are elsewhere than last time). */
function skimRead(buf: Buffer, checked: number, checkedUpTo: number, read: number, used: number, entry: RawEntry): number {
  try {
    return skimEntries(buf, checked, read, used, entry);
  } catch (err) {
    if (checked === HEADER_SIZE || checkedUpTo === Infinity || !(err instanceof FileFormatError)) throw err;
    return skimEntries(buf, HEADER_SIZE, read, used, entry);
  }
}

/**
 * Reads one multiprocess file once (tools, compaction). Throws
 * FileFormatError, or UnsafeFileError for a link or special file.
 * `asStored` skips the entry checks, for a tool that shows a damaged
 * file's bytes up to the damage (the header is still checked).
 */
export function readFileImage(path: string, asStored = false): FileImage {
  const { fd } = openForReading(path);
  try {
    return readOpenFile(fd, undefined, FIRST_READ, () => fs.fstatSync(fd), asStored ? Infinity : HEADER_SIZE);
  } finally {
    fs.closeSync(fd);
  }
}

interface KeptFile {
  fd: number;
  identity: string;
  /** Bytes in use at the last read: the next first read asks for a little more. */
  used: number;
}

const REPLACED = new Error('replaced');

/**
 * Descriptors kept by all readers of this process together. A reader is
 * meant to live as long as the process, but one made per request would
 * otherwise keep its files open until the garbage collector finds it; past
 * this many, files are opened and closed at each read, as without a reader.
 */
const MAX_KEPT_PER_PROCESS = 1024;
let keptInProcess = 0;

const closeAll = (files: Map<string, KeptFile>): void => {
  for (const file of files.values()) fs.closeSync(file.fd);
  keptInProcess -= files.size;
  files.clear();
};
/** A reader dropped without close() still gives its descriptors back. */
const abandoned = new FinalizationRegistry(closeAll);

/**
 * Reads the files of a directory scrape after scrape, keeping them open in
 * between: a kept file costs one read and one stat of its path (which tells
 * whether the path still names the same file) instead of open, read, fstat,
 * read and close. With 128 files that is half the time of a small scrape.
 * A replaced or deleted file is closed and, if still there, opened afresh;
 * files not read since the last sweep() are closed. At most `maxOpen`
 * descriptors are kept (and 1,024 by all readers of the process); further
 * files are opened and closed at each read.
 * Images share one buffer: each is valid until the next read.
 */
export class FileImageReader {
  private readonly files = new Map<string, KeptFile>();
  private readonly readSinceSweep = new Set<string>();
  private scratch: Buffer | undefined;

  constructor(private readonly maxOpen = 256) {
    abandoned.register(this, this.files, this);
  }

  /** Throws FileFormatError for a bad file, UnsafeFileError for a link or special file, ENOENT for a missing one. */
  read(path: string): FileImage {
    this.readSinceSweep.add(path);
    const kept = this.files.get(path);
    if (kept) {
      try {
        // Entries below what the last read checked never move: only the new ones are checked.
        return this.keep(readOpenFile(kept.fd, this.scratch, kept.used + 4096, () => this.statSame(path, kept), kept.used), kept);
      } catch (err) {
        if (err !== REPLACED && err instanceof FileFormatError) throw err;
        this.forget(path);
        if (err !== REPLACED) throw err;
      }
    }
    const { fd } = openForReading(path);
    let keeping = false;
    try {
      const image = readOpenFile(fd, this.scratch, FIRST_READ, () => fs.fstatSync(fd));
      if (this.files.size < this.maxOpen && keptInProcess < MAX_KEPT_PER_PROCESS) {
        this.files.set(path, { fd, identity: image.identity, used: image.used });
        keptInProcess++;
        keeping = true;
      }
      return this.keep(image);
    } finally {
      if (!keeping) fs.closeSync(fd);
    }
  }

  /** Closes the files not read since the last sweep. */
  sweep(): void {
    for (const path of this.files.keys()) if (!this.readSinceSweep.has(path)) this.forget(path);
    this.readSinceSweep.clear();
  }

  close(): void {
    closeAll(this.files);
    abandoned.unregister(this);
  }

  private statSame(path: string, kept: KeptFile): fs.Stats {
    // lstat: a path replaced by a link is another file, opened afresh (and refused) by read().
    const stat = fs.lstatSync(path);
    if (identityOf(stat) !== kept.identity) throw REPLACED;
    return stat;
  }

  private keep(image: FileImage, kept?: KeptFile): FileImage {
    this.scratch = image.buf;
    if (kept) kept.used = image.used;
    return image;
  }

  private forget(path: string): void {
    const kept = this.files.get(path);
    if (!kept) return;
    this.files.delete(path);
    keptInProcess--;
    fs.closeSync(kept.fd);
  }
}

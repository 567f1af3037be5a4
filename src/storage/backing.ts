import * as fs from 'node:fs';
import { StorageError, UnsafeFileError } from '../errors.js';
import { HEADER_SIZE, grownSize, readUsed } from '../format/layout.js';
import { temporaryName } from '../format/directory-names.js';
import { mapSharedReadWrite } from './mmap.js';
import { createExclusive, openOwnFileForWriting } from './safe-files.js';
import { discard } from './safe-removal.js';

/** The bytes behind one entry file: a shared mapping of a real file, or process memory. */
export interface Backing {
  readonly buffer: Buffer;
  /** A description for messages: the file path, or "memory". */
  readonly where: string;
  /**
   * Makes bytes [0, end) safe to store into, growing the buffer (doubling)
   * when `end` is past its size. Throws StorageError and keeps the old
   * buffer on failure.
   */
  ensureWritable(end: number): void;
  /** Whether the file is still where it was opened (true for memory): it may have been deleted or replaced. */
  inPlace(): boolean;
  /** Gives back the descriptor; the buffer stays usable until it is collected. */
  close(): void;
}

export class HeapBacking implements Backing {
  readonly where = 'memory';
  buffer: Buffer;

  constructor(size: number) {
    this.buffer = Buffer.alloc(size);
  }

  ensureWritable(end: number): void {
    if (end <= this.buffer.length) return;
    const next = Buffer.alloc(grownSize(this.buffer.length, end));
    this.buffer.copy(next);
    this.buffer = next;
  }

  inPlace(): boolean {
    return true;
  }

  close(): void {}
}

const ZEROS = Buffer.alloc(1 << 20);

/**
 * Writes real bytes over [from, to) so that every page is allocated before
 * the mapping touches it. On a full file system a store into an unallocated
 * page of a shared mapping is SIGBUS; write() returns ENOSPC instead.
 */
function allocateRange(fd: number, path: string, from: number, to: number, content?: Buffer): void {
  let pos = from;
  try {
    while (pos < to) {
      const source = content ?? ZEROS;
      const sourceStart = content ? pos - from : 0;
      const length = Math.min(to - pos, source.length - sourceStart);
      pos += fs.writeSync(fd, source, sourceStart, length, pos);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StorageError(`cannot allocate bytes ${from}..${to} of ${path}: ${(err as Error).message}`, path, code, { cause: err });
  }
}

/** Our file at `path`, opened for mapping; undefined when missing. A link, special file or someone else's file is refused. */
function openExisting(path: string): number | undefined {
  try {
    return openOwnFileForWriting(path);
  } catch (err) {
    if (err instanceof UnsafeFileError) throw new StorageError(`cannot write ${path}: ${err.message}; move it away`, path, 'EUNSAFE', { cause: err });
    const code = (err as NodeJS.ErrnoException).code;
    throw new StorageError(`cannot open ${path}: ${(err as Error).message}`, path, code, { cause: err });
  }
}

/**
 * Creates `path` with its whole initial content, atomically: readers never
 * see an empty or half-written file (Python's collector fails on a 0-byte
 * file). The content goes to a temporary name first (not ending in `.db`, so
 * no collector reads it), then is linked into place; link() does not replace
 * a file that appeared meanwhile.
 */
function createComplete(path: string, initial: Buffer): void {
  const temporary = temporaryName(path, `${process.pid}.${Math.random().toString(36).slice(2)}`);
  try {
    createExclusive(temporary, initial);
    fs.linkSync(temporary, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') {
      if (err instanceof StorageError) throw err;
      throw new StorageError(`cannot create ${path}: ${(err as Error).message}`, path, code, { cause: err });
    }
  } finally {
    discard(temporary);
  }
}

const PAGE = 4096;

export class MappedFileBacking implements Backing {
  buffer: Buffer;
  /** Bytes from the start known to be backed by allocated pages: stores below this never fault. */
  private allocated: number;

  private constructor(
    readonly where: string,
    private readonly fd: number,
    size: number,
    allocated: number,
  ) {
    this.buffer = this.map(size);
    this.allocated = allocated;
  }

  /**
   * Opens `path` for writing, creating it with `initial` as its content when
   * it is missing or empty. The content is returned in `existing` so the
   * caller can index it.
   */
  static open(path: string, initial: Buffer): { backing: MappedFileBacking; existing: Buffer } {
    let fd = openExisting(path);
    if (fd === undefined) {
      createComplete(path, initial);
      fd = openExisting(path);
      if (fd === undefined) throw new StorageError(`${path} vanished right after it was created`, path, 'ENOENT');
    }
    try {
      let size = fs.fstatSync(fd).size;
      if (size === 0) {
        // Left empty by a writer that died between creating and filling it (Python's creation is not atomic).
        allocateRange(fd, path, 0, initial.length, initial);
        size = initial.length;
      }
      // Pages holding entries were written, so they are allocated; rewriting them in place needs no new
      // space and guards against a file whose `used` points into a hole. Pages past `used` may be sparse
      // (Python extends files with truncate): they are allocated when an append first needs them, and
      // are not read here.
      const header = Buffer.alloc(HEADER_SIZE);
      fs.readSync(fd, header, 0, HEADER_SIZE, 0);
      const used = Math.min(Math.max(readUsed(header), HEADER_SIZE), size);
      const rewritten = Math.min(size, Math.ceil(used / PAGE) * PAGE);
      const existing = Buffer.alloc(rewritten);
      for (let read = 0; read < rewritten; ) {
        const n = fs.readSync(fd, existing, read, rewritten - read, read);
        if (n === 0) break;
        read += n;
      }
      allocateRange(fd, path, 0, rewritten, existing);
      return { backing: new MappedFileBacking(path, fd, size, rewritten), existing };
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  ensureWritable(end: number): void {
    if (end <= this.allocated) return;
    const size = this.buffer.length;
    const target = end <= size ? size : grownSize(size, end);
    try {
      allocateRange(this.fd, this.where, this.allocated, target);
    } catch (err) {
      if (target > size) {
        // Give back what a partial write took past the mapped size, so a full tmpfs gets its pages back.
        try {
          fs.ftruncateSync(this.fd, size);
        } catch {
          // The mapping still covers `size` bytes; nothing else to undo.
        }
      }
      throw err;
    }
    this.allocated = target;
    if (target > size) this.buffer = this.map(target);
  }

  inPlace(): boolean {
    try {
      const there = fs.lstatSync(this.where);
      const mapped = fs.fstatSync(this.fd);
      return there.ino === mapped.ino && there.dev === mapped.dev;
    } catch {
      return false;
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private map(size: number): Buffer {
    try {
      return mapSharedReadWrite(this.fd, size);
    } catch (err) {
      throw new StorageError(`cannot map ${this.where}: ${(err as Error).message}`, this.where, (err as NodeJS.ErrnoException).code, {
        cause: err,
      });
    }
  }
}

import * as fs from 'node:fs';
import { UnsafeFileError } from '../errors.js';

/**
 * Every file operation on a name found in the multiprocess directory goes
 * through here, because other users may write into that directory
 * (docs/security.md). The rules:
 *
 * - A path is never followed through a symbolic link (O_NOFOLLOW, lstat),
 *   so no planted link can make us read, write or delete outside the
 *   directory.
 * - Only regular files are opened, and they are opened with O_NONBLOCK and
 *   checked again with fstat after the open: a FIFO, socket or device never
 *   blocks or reaches us, even when swapped in between the checks.
 * - A file we write into is ours: a regular file of this user with one link
 *   (a hard link would make us write into someone else's file), not
 *   writable by others (who could truncate it under our mapping: SIGBUS).
 * - Files are created with O_EXCL, which never follows a link either.
 */

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = fs.constants;
const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;

/** What a directory entry is, for messages. */
export function fileKind(stat: fs.Stats): string {
  if (stat.isFile()) return 'regular file';
  if (stat.isSymbolicLink()) return 'symbolic link';
  if (stat.isDirectory()) return 'directory';
  if (stat.isFIFO()) return 'FIFO';
  if (stat.isSocket()) return 'socket';
  if (stat.isCharacterDevice()) return 'character device';
  if (stat.isBlockDevice()) return 'block device';
  return 'special file';
}

function refuseUnlessRegular(path: string, stat: fs.Stats): void {
  if (!stat.isFile()) throw new UnsafeFileError(path, `is a ${fileKind(stat)}, not a regular file: not opened`);
}

function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** open() with `flags`, turning ELOOP (a link met with O_NOFOLLOW) into UnsafeFileError. */
function openNoFollow(path: string, flags: number, mode?: number): number {
  try {
    return fs.openSync(path, flags, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafeFileError(path, `is a symbolic link: not followed`, { cause: err });
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') throw new UnsafeFileError(path, `is a socket or FIFO: not opened`, { cause: err });
    throw err;
  }
}

/**
 * Opens an existing regular file for reading. The entry is looked at before
 * the open, so a device is never opened at all, and the descriptor after,
 * so a swap in between is caught. Throws UnsafeFileError, or the system
 * error (ENOENT for a missing file).
 */
export function openForReading(path: string): { fd: number; stat: fs.Stats } {
  refuseUnlessRegular(path, fs.lstatSync(path));
  const fd = openNoFollow(path, READ_FLAGS);
  try {
    const stat = fs.fstatSync(fd);
    refuseUnlessRegular(path, stat);
    return { fd, stat };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * The whole content of a small regular file (a journal, a marker), refusing
 * anything over `maxBytes`, and whatever `vet` finds wrong with the open
 * file (its reason, before anything is read); `stat` is the file's.
 */
export function readSmallFile(path: string, maxBytes: number, vet?: (stat: fs.Stats) => string | undefined): { content: Buffer; stat: fs.Stats } {
  const { fd, stat } = openForReading(path);
  try {
    const refused = vet?.(stat);
    if (refused !== undefined) throw new UnsafeFileError(path, refused);
    if (stat.size > maxBytes) throw new UnsafeFileError(path, `has ${stat.size} bytes, more than the ${maxBytes} such a file can have: not read`);
    const buf = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buf.length) {
      const n = fs.readSync(fd, buf, read, buf.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return { content: buf.subarray(0, read), stat };
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, content: Buffer, position = 0): void {
  for (let written = 0; written < content.length; ) written += fs.writeSync(fd, content, written, content.length - written, position + written);
}

/** Creates `path` with `content`; fails with EEXIST if anything (a link included) has that name. */
export function createExclusive(path: string, content: Buffer | string, mode = 0o644): void {
  const fd = openNoFollow(path, CREATE_FLAGS, mode);
  try {
    writeAll(fd, typeof content === 'string' ? Buffer.from(content) : content);
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates an empty regular file at `path` unless one is there; refuses a link or special file of that name. */
export function ensureRegularFile(path: string, mode = 0o644): void {
  const fd = openNoFollow(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, mode);
  try {
    refuseUnlessRegular(path, fs.fstatSync(fd));
  } finally {
    fs.closeSync(fd);
  }
}

function refuseUnlessSingleLink(path: string, stat: fs.Stats): void {
  if (stat.nlink !== 1) throw new UnsafeFileError(path, `has ${stat.nlink} hard links (another name may be outside the directory): not written`);
}

/** The entry's own stat (a link is not followed), or undefined when there is none. */
function entryStat(path: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** What the entry at `path` is (fileKind), without following a link; undefined when there is none. */
export function entryKind(path: string): string | undefined {
  const stat = entryStat(path);
  return stat && fileKind(stat);
}

/**
 * Rewrites the start of an existing regular file with `content`, never
 * creating it. Returns false when there is no such file.
 */
export function overwriteExisting(path: string, content: Buffer): boolean {
  const stat = entryStat(path);
  if (!stat) return false;
  refuseUnlessRegular(path, stat);
  refuseUnlessSingleLink(path, stat);
  const fd = openNoFollow(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  try {
    const opened = fs.fstatSync(fd);
    refuseUnlessRegular(path, opened);
    refuseUnlessSingleLink(path, opened);
    writeAll(fd, content);
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

/** This process's user, where the platform has users. */
export const effectiveUid = (): number | undefined => process.geteuid?.();

/**
 * Opens an existing file that this process will map and write: a regular
 * file of this user with one link. Group and other write bits are taken
 * away, since anyone who can truncate the file under our mapping can kill
 * this process with SIGBUS. Returns undefined when there is no such file.
 */
export function openOwnFileForWriting(path: string): number | undefined {
  const before = entryStat(path);
  if (!before) return undefined;
  refuseUnlessRegular(path, before);
  const fd = openNoFollow(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  try {
    const stat = fs.fstatSync(fd);
    refuseUnlessRegular(path, stat);
    if (!sameFile(before, stat)) throw new UnsafeFileError(path, `was replaced while it was opened: not written`);
    refuseUnlessSingleLink(path, stat);
    const uid = effectiveUid();
    if (uid !== undefined && stat.uid !== uid) throw new UnsafeFileError(path, `belongs to user ${stat.uid}, not to this process's user ${uid}: not written`);
    if ((stat.mode & 0o022) !== 0) fs.fchmodSync(fd, stat.mode & 0o7755);
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** entryKind, or undefined for any name that cannot be looked at (for yes-or-no questions). */
function kindIfVisible(path: string): string | undefined {
  try {
    return entryKind(path);
  } catch {
    return undefined;
  }
}

/** Whether `path` is a regular file (not a link to one); false when missing. */
export function isRegularFile(path: string): boolean {
  return kindIfVisible(path) === 'regular file';
}

/** Whether `path` is a real directory (not a link to one); false when missing. */
export function isRealDirectory(path: string): boolean {
  return kindIfVisible(path) === 'directory';
}

let lockFs: typeof fs | undefined;

/**
 * The file system proper-lockfile works through for locks in the directory:
 * its stat and utimes follow links, so a lock replaced by a link would have
 * it touch the link's target; these act on the entry itself. It holds only
 * the calls proper-lockfile 4 makes (mkdir, realpath, stat, rmdir, utimes,
 * and their Sync forms): a copy of all of node:fs would read its lazy
 * getters (ReadStream and the like load node's stream modules, 1.6 ms at
 * a process's first lock).
 */
export function lockFileSystem(): typeof fs {
  lockFs ??= {
    mkdir: fs.mkdir,
    mkdirSync: fs.mkdirSync,
    realpath: fs.realpath,
    realpathSync: fs.realpathSync,
    rmdir: fs.rmdir,
    rmdirSync: fs.rmdirSync,
    stat: fs.lstat,
    statSync: fs.lstatSync,
    utimes: fs.lutimes,
    utimesSync: fs.lutimesSync,
  } as unknown as typeof fs;
  return lockFs;
}

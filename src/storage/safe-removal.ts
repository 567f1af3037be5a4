import * as fs from 'node:fs';
import { fileKind } from './safe-files.js';

/**
 * Removing names from the multiprocess directory (safe-files.ts gives the
 * reasons): only what we make is removed (regular files, empty lock
 * directories), never through a link, and a removal never throws, so one
 * planted name cannot stop the removal of the others.
 */

/**
 * What a removal did: the name is gone (`removed`, or `missing` already), or
 * it stays, and `left` says why, for a message ("it is a FIFO", "EPERM: ...").
 */
export type Removal = 'removed' | 'missing' | { left: string };

/**
 * Removes `path` if it is a regular file; a link or special file is left
 * alone (removing it is not ours to do), and so is one the system refuses
 * to remove (another user's, in a sticky directory). Never throws: one name
 * that stays must not stop the removal of the others.
 */
export function removeRegularFile(path: string): Removal {
  try {
    const stat = fs.lstatSync(path);
    if (!stat.isFile()) return { left: `it is a ${fileKind(stat)}` };
    // unlink() removes the name only: even if the entry was swapped for a link meanwhile, its target is untouched.
    fs.unlinkSync(path);
    return 'removed';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : { left: (err as Error).message };
  }
}

/** Removes a temporary of ours by name, if it is still there; whatever stands there instead stays, unreported. */
export function discard(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    // Gone already, or a directory someone put in its place: nothing of ours to remove.
  }
}

/**
 * Removes a lock directory (proper-lockfile's, always empty) at `path`.
 * Only an empty directory is removed: a recursive removal of a tree someone
 * else can change can be steered outside it (a subdirectory swapped for a
 * link between the look and the descent), so a lock directory with entries,
 * or a name that is not a directory, is left. Never throws.
 */
export function removeLockDirectory(path: string): Removal {
  try {
    fs.rmdirSync(path);
    return 'removed';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return { left: 'it is a directory with entries in it' };
    if (code === 'ENOTDIR') {
      try {
        return { left: `it is a ${fileKind(fs.lstatSync(path))}` };
      } catch {
        return { left: (err as Error).message };
      }
    }
    return { left: (err as Error).message };
  }
}

import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { DIRECTORY_LOCK_NAME, DIRECTORY_LOCK_TARGET, LOCK_HOLDER_NAME, temporaryName } from '../format/directory-names.js';
import { notALock } from './liveness.js';
import { properLockfile } from './lockfile.js';
import { randomToken } from './random-token.js';
import { createExclusive, isRealDirectory, lockFileSystem, readSmallFile } from './safe-files.js';
import { discard } from './safe-removal.js';

/**
 * The directory lock: one compaction at a time per directory. A
 * proper-lockfile lock directory, with a holder file naming who holds it
 * (for the message of whoever finds it taken) and a token that tells the
 * holder whether it still holds it after a stall.
 */

/**
 * A lock not refreshed for this long is taken over: its holder died or
 * hangs. A compaction blocks its event loop, so it refreshes the lock
 * itself between steps, every DIRECTORY_LOCK_REFRESH_MS.
 */
export const DIRECTORY_LOCK_STALE_MS = 10000;
const DIRECTORY_LOCK_REFRESH_MS = 1000;

/** What the holder of the directory lock wrote about itself. */
interface LockHolder {
  token: string;
  pid: number;
  hostname: string;
  since: string;
}

/** Held by a compaction: keeps the directory lock fresh, and tells whether it is still held. */
export interface DirectoryLock {
  /** Refreshes the lock if the last refresh is a second old; call between steps. */
  refresh(): void;
  /** Whether the lock is still ours: false when a stale lock of ours was taken over. */
  stillHeld(): boolean;
}

class HeldDirectoryLock implements DirectoryLock {
  private refreshedAt = Date.now();
  private readonly token = randomToken();
  /** False when the holder file could not be written (a full disk): then only the lock's presence tells. */
  private readonly named: boolean;

  constructor(private readonly dir: string) {
    const holder: LockHolder = { token: this.token, pid: process.pid, hostname: hostname(), since: new Date().toISOString() };
    const temporary = path.join(dir, temporaryName(LOCK_HOLDER_NAME, this.token));
    try {
      createExclusive(temporary, JSON.stringify(holder));
      fs.renameSync(temporary, path.join(dir, LOCK_HOLDER_NAME));
      this.named = true;
    } catch {
      discard(temporary);
      this.named = false;
    }
  }

  refresh(): void {
    const now = Date.now();
    if (now - this.refreshedAt < DIRECTORY_LOCK_REFRESH_MS) return;
    this.refreshedAt = now;
    try {
      fs.lutimesSync(path.join(this.dir, DIRECTORY_LOCK_NAME), now / 1000, now / 1000);
    } catch {
      // Gone: stillHeld() tells before anything is committed.
    }
  }

  stillHeld(): boolean {
    return isRealDirectory(path.join(this.dir, DIRECTORY_LOCK_NAME)) && (!this.named || readLockHolder(this.dir)?.token === this.token);
  }
}

function readLockHolder(dir: string): LockHolder | undefined {
  try {
    return JSON.parse(readSmallFile(path.join(dir, LOCK_HOLDER_NAME), 4096).content.toString('utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Who holds the directory lock of `dir`, for a message: process, host, since when, last refresh. */
export function describeDirectoryLock(dir: string): string {
  const planted = notALock(path.join(dir, DIRECTORY_LOCK_NAME));
  if (planted) return `${path.join(dir, DIRECTORY_LOCK_NAME)} is a ${planted}, not a lock directory: remove it`;
  let refreshed = '';
  try {
    // proper-lockfile sets a new lock's time up to a second ahead (to probe the precision).
    const age = Math.max(0, Date.now() - fs.lstatSync(path.join(dir, DIRECTORY_LOCK_NAME)).mtimeMs) / 1000;
    refreshed = `, refreshed ${age.toFixed(1)} s ago`;
  } catch {
    return 'the lock is free now';
  }
  const holder = readLockHolder(dir);
  const who = holder ? `process ${holder.pid} on ${holder.hostname}, holding it since ${holder.since}` : 'a holder that left no name';
  return `${path.join(dir, DIRECTORY_LOCK_NAME)} is held by ${who}${refreshed}; it is taken over once not refreshed for ${DIRECTORY_LOCK_STALE_MS / 1000} s`;
}

/** Runs `work` holding the directory lock, or returns undefined at once when someone else holds it. */
export function withDirectoryLock<T>(dir: string, work: (lock: DirectoryLock) => T): T | undefined {
  let release: () => void;
  try {
    release = properLockfile().lockSync(path.join(dir, DIRECTORY_LOCK_TARGET), {
      lockfilePath: path.join(dir, DIRECTORY_LOCK_NAME),
      fs: lockFileSystem(),
      realpath: false,
      stale: DIRECTORY_LOCK_STALE_MS,
      onCompromised: () => {},
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a file or link planted under the lock's name, which no compaction will take away.
    if (code === 'ELOCKED' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    return work(new HeldDirectoryLock(dir));
  } finally {
    try {
      release();
    } catch {
      // Taken over meanwhile: the lock is someone else's now.
    }
  }
}

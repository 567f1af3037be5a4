import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { COMPACTED_ID, lockName, markerName, parseMetricsFileName, temporaryName } from '../format/directory-names.js';
import type { Logger } from '../log.js';
import { properLockfile } from './lockfile.js';
import { randomToken } from './random-token.js';
import { createExclusive, entryKind, lockFileSystem, readSmallFile } from './safe-files.js';
import { discard, removeLockDirectory, removeRegularFile } from './safe-removal.js';

/**
 * Liveness of writers. Every writing process holds a lock for its file id
 * for its whole life (proper-lockfile: a directory whose mtime is refreshed
 * in the background; it goes stale when its holder stops, and is removed on
 * a clean exit). Beside it, a marker file says "this id is written by
 * prom-multiproc". An id with a marker and no fresh lock is dead; an id
 * without a marker (a Python writer, say) is alive until markProcessDead,
 * as in Python. No pid is ever checked: the directory may be shared by
 * containers with separate pid namespaces.
 */

export const DEFAULT_LIVENESS_TIMEOUT_MS = 10000;

export function lockPath(dir: string, id: string): string {
  return path.join(dir, lockName(id));
}

export function markerPath(dir: string, id: string): string {
  return path.join(dir, markerName(id));
}

interface WriterMarker {
  /** Random per process start: tells two lives of one id apart. */
  instance: string;
  pid: number;
  hostname: string;
  startedAt: string;
  livenessTimeoutMs: number;
}

export type WriterState = 'alive' | 'dead' | 'foreign';

/** A marker is a few hundred bytes; anything much larger is not one. */
const MAX_MARKER_BYTES = 64 * 1024;

function readMarker(dir: string, id: string): WriterMarker | undefined {
  try {
    const marker = JSON.parse(readSmallFile(markerPath(dir, id), MAX_MARKER_BYTES).content.toString('utf8')) as Partial<WriterMarker> | null;
    const timeout = marker?.livenessTimeoutMs;
    return { ...unreadableMarker, ...marker, livenessTimeoutMs: typeof timeout === 'number' ? timeout : DEFAULT_LIVENESS_TIMEOUT_MS };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // A marker being rewritten, damaged, or not a regular file: the name says it is ours, so judge by the lock alone.
    return unreadableMarker;
  }
}

const unreadableMarker: WriterMarker = { instance: '', pid: 0, hostname: '', startedAt: '', livenessTimeoutMs: DEFAULT_LIVENESS_TIMEOUT_MS };

/**
 * Whether the lock directory was refreshed within `staleMs`: what
 * proper-lockfile's checkSync decides, with one stat (a scrape asks this for
 * every writer, and checkSync builds a file-system wrapper on every call).
 */
function lockIsFresh(dir: string, id: string, staleMs: number): boolean {
  try {
    // lstat: a lock is a directory of its own; a link or file of that name is nobody's lock.
    const stat = fs.lstatSync(lockPath(dir, id));
    return stat.isDirectory() && stat.mtimeMs > Date.now() - staleMs;
  } catch {
    return false;
  }
}

/**
 * `alive`, `dead` or `foreign` (no marker: not ours, alive until
 * markProcessDead). `graceFactor` > 1 asks for a writer silent that many
 * timeouts before it counts as dead, for destructive decisions.
 */
export function writerState(dir: string, id: string, graceFactor = 1): WriterState {
  if (id === COMPACTED_ID) return 'foreign';
  const marker = readMarker(dir, id);
  return marker ? lockState(dir, id, marker.livenessTimeoutMs, graceFactor) : 'foreign';
}

/** A liveness timeout as used: the default when unset, and never under 2 s (a lock refreshed every timeout/4 needs the room). */
export function effectiveLivenessTimeout(ms: number | undefined): number {
  return Math.max(ms ?? DEFAULT_LIVENESS_TIMEOUT_MS, 2000);
}

/** Alive or dead by the lock alone, for a caller that knows the marker exists and its timeout. */
export function lockState(dir: string, id: string, livenessTimeoutMs: number, graceFactor = 1): 'alive' | 'dead' {
  // 0 or NaN: a marker without a usable timeout.
  const timeout = effectiveLivenessTimeout(livenessTimeoutMs || undefined);
  return lockIsFresh(dir, id, timeout * graceFactor) ? 'alive' : 'dead';
}

/** A marker's liveness timeout (the default when it cannot be read); undefined when there is no marker. */
export function markerTimeout(dir: string, id: string): number | undefined {
  return readMarker(dir, id)?.livenessTimeoutMs;
}

/** The lock and marker of a dead id, removed once its files are compacted. */
export function forgetWriter(dir: string, id: string): void {
  removeRegularFile(markerPath(dir, id));
  removeLockDirectory(lockPath(dir, id));
}

/** Names of the files `<prefix>_<id>.db` in `dir`. */
export function filesOfId(dir: string, id: string): string[] {
  return fs.readdirSync(dir).filter((name) => parseMetricsFileName(name)?.id === id);
}

/**
 * Takes the lock of `id` for this process's life, or returns undefined when
 * a live writer (or one dead too recently to tell) holds it.
 */
export function tryLockId(dir: string, id: string, timeoutMs: number, logger: Logger): (() => void) | undefined {
  const planted = notALock(lockPath(dir, id));
  if (planted) {
    logger.warn(`${lockPath(dir, id)} is a ${planted}, not a lock directory: file id ${id} is not used`);
    return undefined;
  }
  let release: () => void;
  const take = (): void => {
    release = properLockfile().lockSync(path.join(dir, id), {
      lockfilePath: lockPath(dir, id),
      fs: lockFileSystem(),
      realpath: false,
      stale: timeoutMs,
      update: Math.max(1000, Math.floor(timeoutMs / 4)),
      onCompromised: (err) => {
        logger.warn(
          `the liveness lock ${lockPath(dir, id)} was lost (${err.message}): removed by someone, or not refreshed ` +
            `within ${timeoutMs} ms (a blocked event loop), so others may take this process for dead; taking it again`,
        );
        try {
          take();
        } catch (retake) {
          logger.warn(`cannot take the liveness lock ${lockPath(dir, id)} again: ${(retake as Error).message}`);
        }
      },
    });
  };
  try {
    take();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw err;
  }
  return () => release();
}

/** What stands at `lock` if it is something other than a lock directory; undefined when it is one or is missing. */
export function notALock(lock: string): string | undefined {
  const kind = entryKind(lock);
  return kind === 'directory' ? undefined : kind;
}

export function writeMarker(dir: string, id: string, timeoutMs: number): void {
  const marker: WriterMarker = {
    instance: randomToken(),
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    livenessTimeoutMs: timeoutMs,
  };
  const temporary = path.join(dir, temporaryName(markerName(id), marker.instance));
  try {
    createExclusive(temporary, JSON.stringify(marker));
    fs.renameSync(temporary, markerPath(dir, id));
  } catch (err) {
    discard(temporary);
    throw err;
  }
}

import type * as WorkerThreads from 'node:worker_threads';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { compactLocked } from './compaction.js';
import { withDirectoryLock } from './directory-lock.js';
import { filesOfId, markerPath, tryLockId, writeMarker } from './liveness.js';
import { isRegularFile } from './safe-files.js';

/**
 * Which file id this process writes under: the pid (or configure()'s
 * processId), held by a liveness lock for the process's life, so that two
 * live writers never share a file and a new life never inherits the gauges
 * of a dead one.
 */

/** The pid, with the thread id for worker threads: two isolates of one process must never share a file. */
export function defaultProcessId(): string {
  // Loaded at the first metric, not with the package (node:worker_threads costs a fresh process 2 ms).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { threadId } = require('node:worker_threads') as typeof WorkerThreads;
  return threadId === 0 ? String(process.pid) : `${process.pid}-t${threadId}`;
}

/** An id claimed for this process; `marked`: it holds the liveness lock and wrote its marker. */
export interface ClaimedId {
  id: string;
  marked: boolean;
}

/** Liveness is worth having, not worth failing for: a full disk cannot take a lock directory. */
export function claimIdOrFallBack(dir: string, preferred: string, timeoutMs: number, logger: Logger): ClaimedId {
  try {
    return { id: claimId(dir, preferred, timeoutMs, logger), marked: true };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    logger.warn(`cannot take the liveness lock for ${preferred} in ${dir} (${(err as Error).message}); this process writes without one and counts as alive until markProcessDead`);
    return { id: preferred, marked: false };
  }
}

/**
 * Takes a file id for this process's life: the preferred one, or, while a
 * live writer (or one dead too recently to tell) holds it, the first free
 * `<preferred>-<n>`. Files of a dead earlier life of the id are compacted
 * first, so a new life never inherits old gauges.
 */
function claimId(dir: string, preferred: string, timeoutMs: number, logger: Logger): string {
  for (let n = 1; n <= 1000; n++) {
    const id = n === 1 ? preferred : `${preferred}-${n}`;
    const release = tryLockId(dir, id, timeoutMs, logger);
    if (!release) continue;
    const leftovers = isRegularFile(markerPath(dir, id)) && filesOfId(dir, id).length > 0;
    if (leftovers) {
      const result = withDirectoryLock(dir, (lock) => compactLocked(dir, lock, { claimed: [id], logger }));
      if (!result || filesOfId(dir, id).length > 0) {
        release();
        continue;
      }
    }
    try {
      writeMarker(dir, id, timeoutMs);
    } catch (err) {
      release();
      throw err;
    }
    if (id !== preferred) logger.warn(`file id ${preferred} in ${dir} is held by another writer; this process writes as ${id}`);
    return id;
  }
  throw new ConfigError(`no free file id derived from ${preferred} in ${dir}`, dir);
}

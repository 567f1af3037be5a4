import * as fs from 'node:fs';
import * as path from 'node:path';
import { LIVE_GAUGE_MODES } from '../format/names.js';
import { isLockName, isOurs, parseMetricsFileName, writerIds } from '../format/directory-names.js';
import { ConfigError } from '../errors.js';
import { writerState } from './liveness.js';
import { requireDir, warnIfExposed } from './config.js';
import { removeLockDirectory, removeRegularFile } from './safe-removal.js';
import { consoleLogger, type Logger } from '../log.js';

/**
 * Python's mark_process_dead: deletes the live* gauge files of `pid` (and of
 * its worker threads, `<pid>-t<n>`), so those gauges stop being exported.
 * Returns the files removed.
 */
export function markProcessDead(pid: string | number, dir?: string): string[] {
  const where = requireDir(dir, 'markProcessDead');
  const id = String(pid);
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(where);
  } catch (err) {
    throw new ConfigError(`markProcessDead: cannot list ${where}: ${(err as Error).message}`, where, { cause: err });
  }
  for (const name of names) {
    const parsed = parseMetricsFileName(name);
    if (!parsed || parsed.type !== 'gauge' || !LIVE_GAUGE_MODES.includes(parsed.mode!)) continue;
    if (parsed.id !== id && !parsed.id.startsWith(`${id}-t`)) continue;
    const file = path.join(where, name);
    // Only a regular file: a link or special file of that name is no writer's.
    if (removeRegularFile(file) === 'removed') removed.push(file);
  }
  return removed;
}

export interface ClearResult {
  dir: string;
  removed: string[];
  /** Ids of live writers whose files were removed anyway (force). */
  liveWriters: string[];
  /** Names of ours left in place, and why: not what we make (a link, a FIFO), or not removable (another user's). */
  skipped: Array<{ name: string; reason: string }>;
}

/**
 * Empties a multiprocess directory before a service starts: removes this
 * project's files (metrics files, liveness locks and markers, compaction
 * leftovers) and nothing else, and creates the directory, writable by its
 * owner only, when it is missing. Names of ours that are links or special
 * files are left alone and listed in `skipped`. Refuses, with a ConfigError naming them,
 * while live writers hold their locks, unless `force`.
 */
export function clearMultiprocDir(dir?: string, options: { force?: boolean; logger?: Logger } = {}): ClearResult {
  const where = requireDir(dir, 'clearMultiprocDir');
  if (!fs.existsSync(where)) {
    fs.mkdirSync(where, { recursive: true, mode: 0o755 });
    return { dir: where, removed: [], liveWriters: [], skipped: [] };
  }
  if (!fs.statSync(where).isDirectory()) throw new ConfigError(`clearMultiprocDir: ${where} is not a directory`, where);
  warnIfExposed(where, options.logger ?? consoleLogger);
  const names = fs.readdirSync(where);
  const liveWriters = writerIds(names).filter((id) => writerState(where, id) === 'alive');
  if (liveWriters.length > 0 && !options.force) {
    throw new ConfigError(
      `refusing to clear ${where}: live writers hold their locks (${liveWriters.join(', ')}); stop them first, or force`,
      where,
    );
  }
  const removed: string[] = [];
  const skipped: ClearResult['skipped'] = [];
  for (const name of names.filter(isOurs)) {
    // Lock directories are ours to remove whole; everything else only as a regular file.
    const file = path.join(where, name);
    const outcome = isLockName(name) ? removeLockDirectory(file) : removeRegularFile(file);
    if (outcome === 'removed') removed.push(name);
    else if (typeof outcome === 'object') skipped.push({ name, reason: outcome.left });
  }
  return { dir: where, removed, liveWriters, skipped };
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { LIVE_GAUGE_MODES, parseDbFileName } from '../format/names.js';
import { resolveDir } from './process-storage.js';
import { ConfigError } from '../errors.js';

/**
 * Python's mark_process_dead: deletes the live* gauge files of `pid` (and of
 * its worker threads, `<pid>-t<n>`), so those gauges stop being exported.
 * Returns the files removed.
 */
export function markProcessDead(pid: string | number, dir?: string): string[] {
  const where = resolveDir(dir);
  if (!where) throw new ConfigError('markProcessDead: no directory given and PROMETHEUS_MULTIPROC_DIR is not set');
  const id = String(pid);
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(where);
  } catch (err) {
    throw new ConfigError(`markProcessDead: cannot list ${where}: ${(err as Error).message}`, where, { cause: err });
  }
  for (const name of names) {
    const parsed = parseDbFileName(name);
    if (!parsed || parsed.type !== 'gauge' || !LIVE_GAUGE_MODES.includes(parsed.mode!)) continue;
    if (parsed.id !== id && !parsed.id.startsWith(`${id}-t`)) continue;
    const file = path.join(where, name);
    try {
      fs.unlinkSync(file);
      removed.push(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}

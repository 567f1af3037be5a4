import * as fs from 'node:fs';
import * as path from 'node:path';
import { SCRAPE_TRIGGER_FILE } from '../format/directory-names.js';
import { ensureRegularFile, overwriteExisting } from './safe-files.js';

/**
 * How a scrape tells writers that someone is reading. A writer that publishes
 * values only it can measure (CPU, heap, event-loop lag) creates this file in
 * the multiprocess directory and watches the directory with inotify; the
 * collector rewrites the file at the start of every scrape, if it exists,
 * and the writers refresh their values. A directory without such writers
 * never gets the file. The name does not end in `.db`, so no collector (ours
 * or Python's) reads it as metrics.
 */

type ScrapeListener = () => void;

const listeners = new Set<ScrapeListener>();

/**
 * Runs `listener` synchronously at the start of every scrape made by a
 * MultiprocessRegistry of this process (in-process mode included), so this
 * process's own values are current in that scrape. Returns the unsubscribe.
 */
export function onLocalScrape(listener: ScrapeListener): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

interface TriggerProblem {
  file: string;
  message: string;
}

/**
 * Called by the collector before it reads anything: refreshes this process's
 * listeners, then, in multiprocess mode, rewrites the trigger file (never
 * creating it) so that watching writers refresh theirs. A trigger that cannot
 * be written (another user's file, a read-only mount) is returned for the
 * caller to report.
 */
export function announceScrape(dir: string | undefined): TriggerProblem | undefined {
  for (const listener of listeners) {
    try {
      listener();
    } catch {
      // A refresh that fails must never fail the scrape; the values simply stay as they were.
    }
  }
  if (!dir) return undefined;
  const file = path.join(dir, SCRAPE_TRIGGER_FILE);
  try {
    // Written content, not a new mtime: a write is an inotify event for anyone
    // allowed to write the file, where setting times needs ownership. Never
    // created here, and the text always has the same length.
    overwriteExisting(file, Buffer.from(`${new Date().toISOString()}\n`));
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // no directory
    return {
      file,
      message: `cannot write the scrape trigger (${(err as Error).message}); runtime metrics of other processes are not refreshed by scrapes`,
    };
  }
}

export interface ScrapeWatchOptions {
  /** Seconds between refreshes when the directory cannot be watched. */
  fallbackSeconds: number;
  /** Told once when watching fails and the timer takes over. */
  warn: (message: string) => void;
}

/**
 * Calls `onRequest` whenever a scrape rewrites the trigger file in `dir`.
 * The directory is watched rather than the file, so the watch holds before
 * the first scrape creates the file and after someone deletes it. inotify
 * costs nothing while no one scrapes; where it cannot be set up (no inotify
 * instance or watch left) a timer refreshes every `fallbackSeconds` instead. Neither keeps the process alive. Returns the stop.
 */
export function watchScrapeRequests(dir: string, onRequest: () => void, options: ScrapeWatchOptions): () => void {
  let watcher: fs.FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let scheduled = false;

  // Events that arrive together (several scrapers at once) make one refresh.
  const request = (): void => {
    if (scheduled || stopped) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (!stopped) onRequest();
    });
  };

  const fallBack = (reason: string): void => {
    if (stopped || timer) return;
    watcher?.close();
    watcher = undefined;
    options.warn(
      `cannot watch ${dir} for scrape requests (${reason}); runtime metrics are refreshed every ${options.fallbackSeconds} s instead`,
    );
    timer = setInterval(() => {
      if (!stopped) onRequest();
    }, options.fallbackSeconds * 1000);
    timer.unref();
  };

  const trigger = path.join(dir, SCRAPE_TRIGGER_FILE);
  try {
    watcher = fs.watch(dir, { persistent: false }, (event, name) => {
      // Some platforms give no name; a spurious refresh is harmless.
      if (name !== null && name !== SCRAPE_TRIGGER_FILE) return;
      if (event === 'change') {
        request();
        return;
      }
      // Created (by another writer) or removed (a directory cleared at deploy): not a scrape.
      // A removed trigger is put back, or scrapes would stop telling us.
      try {
        ensureRegularFile(trigger);
      } catch {
        // The directory itself is gone; this process's metrics files are gone with it.
      }
    });
    watcher.unref();
    watcher.on('error', (err) => fallBack(err.message));
    // Created after the watch starts, so a scrape in between cannot go unseen.
    ensureRegularFile(trigger);
  } catch (err) {
    fallBack((err as Error).message);
  }

  return () => {
    stopped = true;
    watcher?.close();
    watcher = undefined;
    if (timer) clearInterval(timer);
    timer = undefined;
  };
}

import { processStorage } from '../storage/process-storage.js';
import { watchScrapeRequests } from '../storage/scrape-signal.js';

/**
 * prom-client's `collect` callbacks in multiprocess mode: a scrape served by
 * another process cannot call them, so each process runs its own when a
 * scrape announces itself in the directory (storage/scrape-signal.ts), and
 * the values they set reach the files for the scrapes that follow. The
 * process that serves the scrape calls its registries' callbacks itself,
 * before it reads anything.
 */

interface Collecting {
  readonly name: string;
  runCollect(): Promise<void>;
}

const collecting = new Set<Collecting>();
let watching = false;

/** Runs `metric`'s collect() whenever another process scrapes the directory (nothing to do in-process). */
export function watchCollect(metric: Collecting): void {
  const storage = processStorage();
  if (!storage.dir) return;
  collecting.add(metric);
  if (watching) return;
  watching = true;
  watchScrapeRequests(storage.dir, () => void runAll(storage.logger.warn.bind(storage.logger)), {
    fallbackSeconds: 10,
    warn: (message) => storage.logger.warn(message),
  });
}

/** Stops running `metric`'s collect() for other processes' scrapes (it left its last registry, and its series were withdrawn). */
export function unwatchCollect(metric: Collecting): void {
  collecting.delete(metric);
}

async function runAll(warn: (message: string) => void): Promise<void> {
  for (const metric of collecting) {
    try {
      await metric.runCollect();
    } catch (err) {
      warn(`collect() of metric ${metric.name} failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, UnsafeFileError } from '../errors.js';
import { COMPACTED_ID, hasMetricsSuffix, JOURNAL_NAME, parseMetricsFileName, writerIds, type ParsedFileName } from '../format/directory-names.js';
import { isPerLiveProcess } from '../format/merge.js';
import type { Logger } from '../log.js';
import { compact } from '../storage/compaction.js';
import { readJournal, type Journal } from '../storage/journal.js';
import { checkDirectory } from '../storage/config.js';
import { FileImageReader, type FileImage } from '../storage/file-image.js';
import { DEFAULT_LIVENESS_TIMEOUT_MS, lockState, markerTimeout, type WriterState } from '../storage/liveness.js';
import type { IncrementalCollector } from './incremental.js';

/**
 * How a collector reads a multiprocess directory while writers, compaction
 * and other collectors work in it: through the compaction journal (files it
 * removes are skipped, an accumulated file not yet installed is read from
 * its temporary), without the per-process gauges of dead writers, and again
 * when a compaction finished during the reads. It also counts dead writers
 * and starts a compaction when enough have piled up.
 */

/** Where a scan reports what it skipped or could not do, once per subject and message. */
export type Report = (subject: string, message: string) => void;

/** Remembered marker timeouts, at most: a directory with more writer ids than this is read afresh. */
const MAX_REMEMBERED_TIMEOUTS = 10000;

export class DirectoryScan {
  private readonly files = new FileImageReader();
  /** Writers found dead at the last count. */
  private deadWriters = 0;
  /** Whether the files are added with their writers' liveness (while a withdrawn series has shares elsewhere). */
  private askLiveness = false;
  private deadCountedAt = 0;
  private lastCompaction = 0;
  private readonly markerTimeouts = new Map<string, number>();

  constructor(
    private readonly collector: IncrementalCollector,
    private readonly logger: Logger,
    private readonly report: Report,
    /** Compact after a scrape that found at least this many dead writers; 0 never does. */
    private readonly compactThreshold: number,
  ) {}

  /**
   * Adds every file of the directory to the collector's scrape; returns the
   * number of files skipped. A compaction finishing meanwhile could make one
   * scrape see both a dead writer's file and the accumulated file that
   * absorbed it; the compaction journal, read before and after, tells, and
   * the reads are done again.
   */
  add(dir: string, reads: SidecarReads = READ_ALL): number {
    checkDirectory(dir, fs.constants.R_OK, this.logger);
    for (let attempt = 1; ; attempt++) {
      const before = readJournal(dir);
      if (before.problem !== undefined) this.report(path.join(dir, JOURNAL_NAME), `${before.problem}: ignored (the next compaction sets it aside)`);
      const journal = before.journal?.phase === 'pending' ? before.journal : undefined;
      this.collector.begin();
      let skipped = this.addOnce(dir, journal, this.askLiveness, reads);
      // A series one writer withdrew and another file still holds: read again, asking which writers live.
      if (!this.askLiveness && this.collector.needsLiveness()) {
        this.askLiveness = true;
        this.collector.begin();
        skipped = this.addOnce(dir, journal, true, reads);
      }
      // Asked again at the next scrape while such series last: a stat per writer, only then.
      if (this.askLiveness) this.askLiveness = this.collector.needsLiveness();
      this.collector.hideWithdrawn();
      const after = readJournal(dir);
      if (before.journal?.id === after.journal?.id || attempt === 3) {
        for (const [file, reason] of skipped) this.report(file, `skipped: ${reason}`);
        this.compactIfDue(dir);
        return skipped.length;
      }
    }
  }

  /** Closes the files kept open between scrapes. */
  close(): void {
    this.files.close();
  }

  /** Compaction runs after the scrape's response is on its way, at most once a second. */
  private compactIfDue(dir: string): void {
    if (this.compactThreshold <= 0 || this.deadWriters < this.compactThreshold || Date.now() - this.lastCompaction < 1000) return;
    this.lastCompaction = Date.now();
    this.deadWriters = 0; // counted afresh at a later scrape
    setImmediate(() => {
      try {
        compact(dir, { logger: this.logger });
      } catch (err) {
        this.report(dir, `compaction failed: ${(err as Error).message}`);
      }
    });
  }

  /**
   * A writer's liveness timeout, from its marker, read once per id: a scrape
   * checks every writer, and reading each marker every time would be most
   * of a small scrape's system calls.
   */
  private timeoutOf(dir: string, id: string): number {
    let timeout = this.markerTimeouts.get(id);
    if (timeout === undefined) {
      timeout = markerTimeout(dir, id) ?? DEFAULT_LIVENESS_TIMEOUT_MS;
      if (this.markerTimeouts.size > MAX_REMEMBERED_TIMEOUTS) this.markerTimeouts.clear();
      this.markerTimeouts.set(id, timeout);
    }
    return timeout;
  }

  /** One pass over the directory; returns the files it skipped, with the reason. */
  private addOnce(dir: string, journal: Journal | undefined, askLiveness: boolean, reads: SidecarReads): Array<[file: string, reason: string]> {
    const removed = new Set(journal?.remove);
    const installing = new Map(journal?.install.map(({ from, to }) => [to, from]));
    const liveness = new Map<string, WriterState>();
    const skipped: Array<[string, string]> = [];
    const skip = (file: string, reason: string): void => void skipped.push([file, reason]);
    const listing = fs.readdirSync(dir);
    const markers = new Set(writerIds(listing));
    const stateOf = (id: string): WriterState => {
      let state = liveness.get(id);
      if (!state) {
        state = markers.has(id) ? lockState(dir, id, this.timeoutOf(dir, id)) : 'foreign';
        liveness.set(id, state);
      }
      return state;
    };
    // Counted only for compaction, which runs at most once a second: checking every writer's lock
    // at every scrape would cost a stat per writer, a good part of a small scrape.
    const compacting = this.compactThreshold > 0;
    if (compacting && Date.now() - this.deadCountedAt >= 1000) {
      this.deadWriters = [...markers].filter((id) => stateOf(id) === 'dead').length;
      this.deadCountedAt = Date.now();
    }
    // Sorted names fix the order of float sums and which file's HELP text wins. Native bucket files
    // come after every .db file: read later, a series' native count is at least its classic count.
    // Exemplar files come last: an exemplar attaches to a series the metrics files made.
    const names = listing.filter((name) => hasMetricsSuffix(name) && !removed.has(name));
    // An accumulated file the first compaction of its prefix has not installed yet is read from its temporary.
    for (const name of installing.keys()) if (hasMetricsSuffix(name) && !names.includes(name)) names.push(name);
    names.sort();
    const sources = names.map((name) => ({ name, source: parseMetricsFileName(name) }));
    const rank = (source: ParsedFileName | undefined): number => (source?.exemplar ? 2 : source?.native ? 1 : 0);
    sources.sort((a, b) => rank(a.source) - rank(b.source));
    const present = new Set<string>();
    for (const { name, source } of sources) {
      const file = path.join(dir, name);
      if (!source) {
        skip(file, 'not a metrics file name (expected counter_, histogram_, summary_ or gauge_<mode>_ and an id without "_", .db; histogram_<id>.nhdb or summary_<id>.nhdb; or counter_ or histogram_<id>.exdb)');
        continue;
      }
      // Per-process gauges of a process that is gone describe nothing any more.
      if (source.type === 'gauge' && isPerLiveProcess(source.mode!) && stateOf(source.id) === 'dead') continue;
      // A sidecar this scrape does not export is not read; what was parsed of it is kept for the next scrape that does.
      if ((source.native && source.type === 'histogram' && !reads.native) || (source.exemplar && !reads.exemplars)) {
        present.add(file);
        continue;
      }
      try {
        const pendingInstall = installing.get(name);
        const image = readPreferring(this.files, pendingInstall ? path.join(dir, pendingInstall) : undefined, file);
        present.add(file);
        const live = askLiveness ? source.id !== COMPACTED_ID && stateOf(source.id) !== 'dead' : undefined;
        for (const problem of this.collector.add({ name: file, ...image, ...source, live })) this.report(problem.source, problem.message);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed since the listing: not an error
        skip(file, err instanceof FileFormatError ? `${err.reason} (at byte ${err.offset})` : err instanceof UnsafeFileError ? err.reason : (err as Error).message);
      }
    }
    this.collector.retainSources(present);
    this.files.sweep();
    return skipped;
  }
}

/**
 * The files beside the `.db` ones that a scrape reads: native histogram
 * buckets only for an exposition that carries them (protobuf, Family
 * objects), exemplars only for one that carries them (not the 0.0.4 text
 * format). A summary's quantile buckets are read by every scrape: every
 * format carries quantiles. Each is read whole at every scrape that reads
 * it, so a text scrape of native histograms costs what a scrape of their
 * classic buckets costs.
 */
export interface SidecarReads {
  native: boolean;
  exemplars: boolean;
}

export const READ_ALL: SidecarReads = { native: true, exemplars: true };

/** Reads `preferred` (an accumulated file not yet renamed into place), else `file`. */
function readPreferring(files: FileImageReader, preferred: string | undefined, file: string): FileImage {
  if (preferred) {
    try {
      return files.read(preferred);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return files.read(file);
}

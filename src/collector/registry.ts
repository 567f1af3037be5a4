import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry, type RegistryContentType } from 'prom-client';
import { FileFormatError, UnsafeFileError, ValidationError } from '../errors.js';
import { readUsed } from '../format/layout.js';
import { JOURNAL_NAME, dbFileName, hasDbSuffix, parseDbFileName, writerIds } from '../format/directory-names.js';
import { isPerLiveProcess } from '../format/merge.js';
import type { MetricType } from '../format/names.js';
import { consoleLogger, printableLogger, type Logger } from '../log.js';
import { checkDirectory, resolveDir } from '../storage/config.js';
import { existingProcessStorage } from '../storage/process-storage.js';
import { announceScrape } from '../storage/scrape-signal.js';
import { ExposedNameClaims, endOfExposition, exposedFamilyName, familyHeader, renderFamily, type ExpositionFormat } from './exposition.js';
import { compareText, type Family } from './family.js';
import { IncrementalCollector } from './incremental.js';
import { TextWriter } from './text-writer.js';
import { FileImageReader, type FileImage } from '../storage/file-image.js';
import { compact, readJournal, type Journal } from '../storage/compaction.js';
import { DEFAULT_LIVENESS_TIMEOUT_MS, lockState, markerTimeout, type WriterState } from '../storage/liveness.js';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

/** The family the collector exports about itself. */
export const SKIPPED_FILES_FAMILY = 'prom_multiproc_skipped_files';
const SKIPPED_FILES_TYPE = 'counter';

export interface MultiprocessRegistryOptions {
  /** The directory to merge; default configure()'s dir or PROMETHEUS_MULTIPROC_DIR, read at the first scrape. */
  dir?: string;
  /** Where skipped files are reported (once per file and reason); default console.warn. */
  logger?: Logger;
  /** prom-client registries whose per-process metrics are served alongside the merged ones. */
  registries?: Registry[];
  contentType?: RegistryContentType;
  /**
   * Compact the directory (merge dead writers' files into accumulated ones)
   * after a scrape that found at least this many dead writers; 0 never does.
   * Default 4.
   */
  compactThreshold?: number;
}

const DEFAULT_COMPACT_THRESHOLD = 4;

/** prom-client's JSON shape for one metric. */
export interface MetricJSON {
  name: string;
  help: string;
  type: MetricType;
  aggregator: 'sum';
  values: Array<{ value: number; labels: Record<string, string>; metricName: string }>;
}

const MAX_REMEMBERED_PROBLEMS = 10000;

/** One family of a scrape's result: the merged ones render from the collector's cache. */
interface Part {
  name: string;
  render(format: ExpositionFormat, out: TextWriter): void;
  toFamily(): Family;
}

/**
 * Serves the merged metrics of every process that writes into the
 * multiprocess directory (or, without one, this process's own metrics).
 * Keep one instance per process: it remembers what it parsed, so a scrape
 * only parses entries that are new since the previous one.
 */
export class MultiprocessRegistry {
  private format: ExpositionFormat = 'prometheus';
  private readonly logger: Logger;
  private readonly reported = new Set<string>();
  /** The collector's own family keeps its names: a file's family that would expose one of them is ignored. */
  private readonly collector = new IncrementalCollector([{ name: SKIPPED_FILES_FAMILY, type: SKIPPED_FILES_TYPE }]);
  private readonly writer = new TextWriter();
  private readonly files = new FileImageReader();
  private skippedFiles = 0;
  /** Writers found dead at the last scrape. */
  private deadWriters = 0;
  private deadCountedAt = 0;
  private lastCompaction = 0;
  private readonly markerTimeouts = new Map<string, number>();
  private readonly inflight = new Map<ExpositionFormat, Promise<string>>();
  private readonly memoryIdentities = new WeakMap<object, string>();

  constructor(private readonly options: MultiprocessRegistryOptions = {}) {
    // Messages name files of the directory, whose names its writers choose.
    this.logger = printableLogger(options.logger ?? consoleLogger);
    if (options.contentType) this.setContentType(options.contentType);
  }

  get contentType(): RegistryContentType {
    return this.format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
  }

  setContentType(contentType: RegistryContentType): void {
    if (contentType === OPENMETRICS_CONTENT_TYPE) this.format = 'openmetrics';
    else if (contentType === PROMETHEUS_CONTENT_TYPE) this.format = 'prometheus';
    else throw new ValidationError(`Content type ${String(contentType)} is not supported; use ${PROMETHEUS_CONTENT_TYPE} or ${OPENMETRICS_CONTENT_TYPE}`);
  }

  /** The directory this registry merges, or undefined for in-process mode. */
  get dir(): string | undefined {
    return resolveDir(this.options.dir);
  }

  /**
   * The merged exposition in this registry's content type. Calls made while
   * one is under way share its result.
   */
  metrics(): Promise<string> {
    const format = this.format;
    let pending = this.inflight.get(format);
    if (!pending) {
      pending = this.scrape((parts) => {
        this.writer.reserve(this.collector.renderedSizeBound());
        for (const part of parts) part.render(format, this.writer);
        this.writer.text(endOfExposition(format));
        return this.writer.take();
      });
      const forget = (): void => void this.inflight.delete(format);
      pending.then(forget, forget);
      this.inflight.set(format, pending);
    }
    return pending;
  }

  /**
   * Closes the files this registry keeps open between scrapes (it holds one
   * descriptor per file it reads, up to 256). Call it before unmounting or
   * deleting the directory from this process; a later scrape opens them again.
   */
  close(): void {
    this.files.close();
  }

  /** The merged metrics in prom-client's getMetricsAsJSON() shape. */
  async getMetricsAsJSON(): Promise<MetricJSON[]> {
    return (await this.collect()).map((family) => ({
      name: exposedFamilyName(family.name, family.type, 'prometheus'),
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      values: family.samples.map((s) => ({ value: s.value, labels: s.labels, metricName: s.name })),
    }));
  }

  /** The merged families, sorted by name, this registry's own error counter included. */
  async collect(): Promise<Family[]> {
    return this.scrape((parts) => parts.map((part) => part.toFamily()));
  }

  /**
   * Reads every source and hands the families of this scrape to `produce`.
   * Everything after the registries' await runs synchronously, so parts,
   * which render from the collector's state, are used before another scrape
   * changes it.
   */
  private async scrape<T>(produce: (parts: Part[]) => T): Promise<T> {
    // First of all: this process refreshes its runtime values now, other writers when they see the trigger.
    const dir = this.dir;
    const trigger = announceScrape(dir);
    if (trigger) this.report(trigger.file, trigger.message);
    const extra: Family[] = [];
    for (const registry of this.options.registries ?? []) extra.push(...(await familiesOf(registry)));
    this.collector.begin();
    if (dir) this.addDirectory(dir);
    else this.addThisProcess();
    const parts: Part[] = this.collector.familyNames().map((name) => {
      const family = this.collector.family(name)!;
      return {
        name,
        render: (format, out) => {
          out.text(familyHeader(family.name, family.type, family.help, format));
          this.collector.renderSamples(family, out);
        },
        toFamily: () => this.collector.toFamily(family),
      };
    });
    // Registries' families come after the files' ones (and the collector's own): one whose names
    // meet a family's met before is not served.
    const served = new ExposedNameClaims();
    for (const family of extra) {
      const holder = this.collector.nameHolder(family.name, family.type) ?? served.holder(family.name, family.type);
      if (holder) {
        this.report(`registry metric ${family.name}`, `exposes ${holder.name}, a name of the ${holder.type} family ${holder.family} served already; it is not served`);
        continue;
      }
      served.claim(family.name, family.type);
      parts.push(plainPart(family));
    }
    parts.push(
      plainPart({
        name: SKIPPED_FILES_FAMILY,
        type: SKIPPED_FILES_TYPE,
        help: 'Multiprocess files the collector could not read and skipped, counted at every scrape that skipped them.',
        samples: [{ name: `${SKIPPED_FILES_FAMILY}_total`, labels: {}, value: this.skippedFiles }],
      }),
    );
    return produce(parts.sort((a, b) => compareText(a.name, b.name)));
  }

  /**
   * Adds every file of the directory. A compaction finishing meanwhile could
   * make one scrape see both a dead writer's file and the accumulated file
   * that absorbed it; the compaction journal, read before and after, tells,
   * and the reads are done again.
   */
  private addDirectory(dir: string): void {
    checkDirectory(dir, fs.constants.R_OK, this.logger);
    for (let attempt = 1; ; attempt++) {
      const before = readJournal(dir);
      if (before.problem !== undefined) this.report(path.join(dir, JOURNAL_NAME), `${before.problem}: ignored (the next compaction sets it aside)`);
      this.collector.begin();
      const skipped = this.addDirectoryOnce(dir, before.journal?.phase === 'pending' ? before.journal : undefined);
      const after = readJournal(dir);
      if (before.journal?.id === after.journal?.id || attempt === 3) {
        this.skippedFiles += skipped.length;
        for (const [file, reason] of skipped) this.report(file, `skipped: ${reason}`);
        this.compactIfDue(dir);
        return;
      }
    }
  }

  /** Compaction runs after the scrape's response is on its way, at most once a second. */
  private compactIfDue(dir: string): void {
    const threshold = this.options.compactThreshold ?? DEFAULT_COMPACT_THRESHOLD;
    if (threshold <= 0 || this.deadWriters < threshold || Date.now() - this.lastCompaction < 1000) return;
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
   * checks every writer, and reading each marker every time was most of a
   * small scrape's system calls.
   */
  private timeoutOf(dir: string, id: string): number {
    let timeout = this.markerTimeouts.get(id);
    if (timeout === undefined) {
      timeout = markerTimeout(dir, id) ?? DEFAULT_LIVENESS_TIMEOUT_MS;
      if (this.markerTimeouts.size > MAX_REMEMBERED_PROBLEMS) this.markerTimeouts.clear();
      this.markerTimeouts.set(id, timeout);
    }
    return timeout;
  }

  /** One pass over the directory; returns the files it skipped, with the reason. */
  private addDirectoryOnce(dir: string, journal: Journal | undefined): Array<[file: string, reason: string]> {
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
    // at every scrape was a stat per writer, a good part of a small scrape.
    const compacting = (this.options.compactThreshold ?? DEFAULT_COMPACT_THRESHOLD) > 0;
    if (compacting && Date.now() - this.deadCountedAt >= 1000) {
      this.deadWriters = [...markers].filter((id) => stateOf(id) === 'dead').length;
      this.deadCountedAt = Date.now();
    }
    // Sorted names fix the order of float sums and which file's HELP text wins.
    const names = listing.filter((name) => hasDbSuffix(name) && !removed.has(name)).sort();
    const present = new Set<string>();
    for (const name of names) {
      const file = path.join(dir, name);
      const source = parseDbFileName(name);
      if (!source) {
        skip(file, 'not a metrics file name (expected counter_, histogram_, summary_ or gauge_<mode>_ and an id without "_")');
        continue;
      }
      // Per-process gauges of a process that is gone describe nothing any more.
      if (source.type === 'gauge' && isPerLiveProcess(source.mode!) && stateOf(source.id) === 'dead') continue;
      try {
        const pendingInstall = installing.get(name);
        const image = readPreferring(this.files, pendingInstall ? path.join(dir, pendingInstall) : undefined, file);
        present.add(file);
        for (const problem of this.collector.add({ name: file, ...image, ...source })) this.report(problem.source, problem.message);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed since the listing: not an error
        skip(file, err instanceof FileFormatError ? `${err.reason} (at byte ${err.offset})` : err instanceof UnsafeFileError ? err.reason : (err as Error).message);
      }
    }
    this.collector.retainSources(present);
    this.files.sweep();
    return skipped;
  }

  private addThisProcess(): void {
    const storage = existingProcessStorage();
    const present = new Set<string>();
    for (const [prefix, store] of storage?.memoryStores() ?? []) {
      const file = store.entryFile;
      if (!file) continue;
      const source = parseDbFileName(dbFileName(prefix, 'memory'))!;
      let identity = this.memoryIdentities.get(file);
      if (!identity) {
        identity = `memory:${prefix}`;
        this.memoryIdentities.set(file, identity);
      }
      const buf = file.buffer;
      present.add(identity);
      this.collector.add({ name: identity, identity, buf, used: readUsed(buf), type: source.type, mode: source.mode, hidden: file.hidden });
    }
    this.collector.retainSources(present);
  }

  private report(subject: string, message: string): void {
    const key = `${subject}\u0000${message}`;
    if (this.reported.has(key)) return;
    if (this.reported.size >= MAX_REMEMBERED_PROBLEMS) this.reported.clear();
    this.reported.add(key);
    this.logger.warn(`${subject}: ${message}`);
  }
}

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

function plainPart(family: Family): Part {
  return { name: family.name, render: (format, out) => renderFamily(family, format, out), toFamily: () => family };
}

/** A prom-client registry's metrics in our family model (counters named `<family>_total`, as ours). */
async function familiesOf(registry: Registry): Promise<Family[]> {
  return (await registry.getMetricsAsJSON()).map((metric) => {
    const type = String(metric.type) as MetricType;
    const name = type === 'counter' ? metric.name.replace(/_total$/, '') : metric.name;
    return {
      name,
      type,
      help: metric.help,
      samples: metric.values.map((v) => {
        const labels: Record<string, string> = {};
        for (const [k, value] of Object.entries(v.labels)) if (value !== undefined) labels[k] = String(value);
        const sampleName = type === 'counter' ? `${name}_total` : ((v as { metricName?: string }).metricName ?? metric.name);
        return { name: sampleName, labels, value: v.value };
      }),
    };
  });
}
